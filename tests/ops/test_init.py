import subprocess
import sys

import pytest

from devops_mlops.errors import UsageError
from devops_mlops.ops.init import README_MARKER, init_project, planned_files, python_name, template_root


def test_scaffold_writes_the_template_and_a_git_repo(tmp_path):
    target = tmp_path / "fraud-scoring"
    result = init_project(target)
    assert "mlops.yaml" in result.written and ".gitignore" in result.written and "README.md" in result.written
    assert any(p.startswith("azure-pipelines/") for p in result.written)
    config = (target / "mlops.yaml").read_text()
    assert "project: fraud-scoring" in config
    assert ".mlops/" in (target / ".gitignore").read_text().splitlines()
    assert README_MARKER in (target / "README.md").read_text()
    assert result.git_initialised and (target / ".git").is_dir()
    for rel, data in planned_files("fraud-scoring").items():
        assert (target / rel).read_bytes() == data


def test_running_twice_changes_nothing(tmp_path):
    init_project(tmp_path / "p")
    before = {p: p.read_bytes() for p in (tmp_path / "p").rglob("*") if p.is_file() and ".git" not in p.parts}
    again = init_project(tmp_path / "p")
    assert again.written == [] and not again.git_initialised
    after = {p: p.read_bytes() for p in (tmp_path / "p").rglob("*") if p.is_file() and ".git" not in p.parts}
    assert before == after


def test_refuses_to_overwrite_and_writes_nothing(tmp_path):
    target = tmp_path / "p"
    target.mkdir()
    (target / "mlops.yaml").write_text("project: mine\n")
    with pytest.raises(UsageError) as err:
        init_project(target)
    assert "mlops.yaml" in err.value.message and err.value.exit_code == 2
    assert sorted(p.name for p in target.iterdir()) == ["mlops.yaml"]
    assert (target / "mlops.yaml").read_text() == "project: mine\n"
    result = init_project(target, force=True)
    assert "mlops.yaml" in result.written and "project: p" in (target / "mlops.yaml").read_text()


def test_existing_gitignore_and_readme_are_extended_not_replaced(tmp_path):
    target = tmp_path / "p"
    target.mkdir()
    (target / ".gitignore").write_text("*.log")
    (target / "README.md").write_text("# My project\n\nHello.\n")
    init_project(target)
    assert (target / ".gitignore").read_text().splitlines()[0] == "*.log"
    readme = (target / "README.md").read_text()
    assert readme.startswith("# My project\n\nHello.\n") and README_MARKER in readme


def test_dry_run_writes_nothing(tmp_path):
    result = init_project(tmp_path / "p", dry_run=True)
    assert result.written and not (tmp_path / "p").exists()


def test_inside_an_existing_repo_no_new_git(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    result = init_project(tmp_path / "sub")
    assert not result.git_initialised and not (tmp_path / "sub" / ".git").exists()


@pytest.mark.parametrize("name", ["1abc", "has space", "a/b", ""])
def test_bad_names_are_usage_errors(tmp_path, name):
    with pytest.raises(UsageError):
        init_project(tmp_path / "p", name=name or "-")


def test_template_is_the_example_project():
    root = template_root()
    assert (root / "mlops.yaml").is_file() and (root / "azure-pipelines").is_dir()


def test_the_package_is_named_after_the_project(tmp_path):
    target = tmp_path / "fraud-scoring"
    init_project(target, name="fraud-scoring")
    assert (target / "src" / "fraud_scoring" / "features.py").is_file() and not (target / "src" / "toll_demand").exists()
    texts = {p: p.read_text() for p in target.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert not [p for p, text in texts.items() if "toll_demand" in text]
    assert 'name = "fraud-scoring"' in texts[target / "pyproject.toml"]
    config = texts[target / "mlops.yaml"]
    assert "ingest: fraud_scoring.pipeline:ingest" in config and "model:\n  name: fraud_scoring" in config
    assert "from fraud_scoring import training" in texts[target / "notebooks" / "train.py"]
    assert "from fraud_scoring import" in texts[target / "tests" / "test_data.py"]
    assert texts[target / "requirements.txt"].splitlines()[1] == "."
    # the scaffold's own unit tests pass against the renamed package
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=target,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_python_names():
    assert python_name("fraud-scoring") == "fraud_scoring" and python_name("Churn_2") == "churn_2"
