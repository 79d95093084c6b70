"""Local paths in job files, resolved from the YAML file that names them (as bundles do) or from the root."""

from pathlib import Path

import pytest

from devops_mlops.config import load_config
from devops_mlops.core.job_paths import git_folder, is_local
from devops_mlops.errors import ConfigError
from devops_mlops.files.jobs import load_job_definitions

pytestmark = pytest.mark.fast

MLOPS = """\
project: shop
model: {name: m}
notebooks: src
targets:
  git:
    backend: databricks
    host: http://127.0.0.1:1
    repo_path: /Repos/ci/shop
    branch: main
  ws:
    backend: databricks
    host: http://127.0.0.1:1
    workspace_dir: /Shared/shop
"""

JOB = """\
resources:
  jobs:
    a:
      environments:
        - environment_key: default
          spec:
            client: "2"
            dependencies:
              - -r ../src/requirements.txt
              - ../src/libs/helper-0.1-py3-none-any.whl
              - pandas==2.2.2
      tasks:
        - task_key: nb
          notebook_task: {notebook_path: ../src/hello}
          libraries:
            - requirements: ../src/requirements.txt
            - whl: ../src/libs/*.whl
            - pypi: {package: requests}
            - whl: dbfs:/FileStore/x.whl
        - task_key: py
          environment_key: default
          spark_python_task:
            python_file: ../src/main.py
        - task_key: old_style
          notebook_task: {notebook_path: src/hello.py}
"""


def project(tmp_path: Path, job: str = JOB) -> Path:
    (tmp_path / "mlops.yaml").write_text(MLOPS)
    src = tmp_path / "src"
    (src / "libs").mkdir(parents=True)
    (src / "hello.py").write_text("# Databricks notebook source\nprint(1)\n")
    (src / "main.py").write_text("print('main')\n")
    (src / "requirements.txt").write_text("requests\n")
    (src / "libs" / "helper-0.1-py3-none-any.whl").write_bytes(b"PK")
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "a.yml").write_text(job)
    return tmp_path


def settings(tmp_path: Path, target: str, tracked: frozenset[str] | None = None) -> dict:
    cfg = load_config(tmp_path / "mlops.yaml")
    return load_job_definitions(cfg, cfg.target(target), tracked=tracked)["a"].settings


@pytest.mark.parametrize("target,base", [("git", "/Repos/ci/shop/src"), ("ws", "/Shared/shop")])
def test_paths_relative_to_the_yaml_file_are_rewritten_per_target(tmp_path, target, base):
    s = settings(project(tmp_path), target)
    nb, py, old = s["tasks"]
    assert nb["notebook_task"]["notebook_path"] == f"{base}/hello"
    assert old["notebook_task"]["notebook_path"] == f"{base}/hello"  # the repository-root form keeps working
    assert nb["libraries"] == [{"requirements": f"{base}/requirements.txt"},
                               {"whl": f"{base}/libs/helper-0.1-py3-none-any.whl"},
                               {"pypi": {"package": "requests"}},
                               {"whl": "dbfs:/FileStore/x.whl"}]
    assert py["spark_python_task"]["python_file"] == f"{base}/main.py"
    deps = s["environments"][0]["spec"]["dependencies"]
    assert deps == [f"-r {base}/requirements.txt", f"{base}/libs/helper-0.1-py3-none-any.whl", "pandas==2.2.2"]


def test_a_missing_file_names_the_key_and_line(tmp_path):
    project(tmp_path, JOB.replace("python_file: ../src/main.py", "python_file: ../src/nope.py"))
    with pytest.raises(ConfigError) as exc:
        settings(tmp_path, "git")
    err = exc.value
    assert "resources.jobs.a.tasks[1].spark_python_task.python_file" in err.message and "nope.py" in err.message
    assert err.path.endswith("a.yml") and err.line == 23


def test_a_missing_requirements_file_in_an_environment(tmp_path):
    project(tmp_path, JOB.replace("-r ../src/requirements.txt", "-r ../src/other.txt"))
    with pytest.raises(ConfigError) as exc:
        settings(tmp_path, "git")
    assert "environments[0].spec.dependencies[0]" in exc.value.message and exc.value.line == 9


def test_workspace_mode_refuses_a_file_outside_the_notebooks_folder(tmp_path):
    project(tmp_path, JOB.replace("../src/main.py", "../tools/main.py"))
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "main.py").write_text("print(1)\n")
    assert settings(tmp_path, "git")["tasks"][1]["spark_python_task"]["python_file"] == "/Repos/ci/shop/tools/main.py"
    with pytest.raises(ConfigError) as exc:
        settings(tmp_path, "ws")
    assert "not under the notebooks folder 'src'" in exc.value.message


def test_is_local():
    assert is_local("../a.whl") and is_local("a/b.txt")
    assert not is_local("/Workspace/a.whl") and not is_local("dbfs:/a.whl") and not is_local("s3://b/a.whl")
    assert not is_local("")


#: what `git add -A && git commit` of the project holds: the built wheel is ignored (*.whl in .gitignore)
COMMITTED = frozenset({".gitignore", "mlops.yaml", "resources/a.yml", "src/hello.py", "src/main.py",
                       "src/requirements.txt"})


def test_a_git_folder_target_needs_every_file_a_job_names_committed(tmp_path):
    root = project(tmp_path)
    cfg = load_config(root / "mlops.yaml")
    assert git_folder(cfg.target("git")) and not git_folder(cfg.target("ws"))
    with pytest.raises(ConfigError) as err:  # the Git folder will not have the ignored wheel
        settings(root, "git", COMMITTED)
    assert "src/libs/helper-0.1-py3-none-any.whl is not committed" in err.value.message
    assert "ship the package's wheel to a volume" in err.value.message
    assert err.value.path.endswith("a.yml") and err.value.line == 17  # the library's own line
    assert "tasks[0].libraries[1].whl" in err.value.message
    settings(root, "ws", COMMITTED)  # a workspace target uploads the files itself: the list does not matter
    settings(root, "git", None)  # not known (no repository): not checked

    committed = COMMITTED | {"src/libs/helper-0.1-py3-none-any.whl"}
    assert settings(root, "git", committed)["tasks"][0]["notebook_task"]["notebook_path"] == "/Repos/ci/shop/src/hello"

    (root / "src" / "new.py").write_text("# Databricks notebook source\nprint(2)\n")  # written, not committed
    (root / "resources" / "a.yml").write_text(JOB.replace("../src/hello}", "../src/new}"))
    with pytest.raises(ConfigError) as err:
        settings(root, "git", committed)
    assert "src/new.py is not committed" in err.value.message and err.value.line == 14
    assert "commit and push it)" in err.value.message
