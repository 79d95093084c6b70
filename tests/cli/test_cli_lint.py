import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner

from devops_mlops.cli import cli, main

CORPUS = Path(__file__).parent.parent / "corpus" / "notebooks"


def project(tmp_path, notebooks="good"):
    shutil.copytree(CORPUS / notebooks, tmp_path / "notebooks")
    (tmp_path / "mlops.yaml").write_text("project: p\nmodel: {name: m}\n")
    return tmp_path


def run(args, cwd, monkeypatch, env=None):
    monkeypatch.chdir(cwd)
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    result = CliRunner().invoke(main_wrapper, args, catch_exceptions=False)
    return result


import click  # noqa: E402


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def main_wrapper(args):
    main(list(args))


def test_clean_project_exits_0(tmp_path, monkeypatch):
    r = run(["lint"], project(tmp_path), monkeypatch)
    assert r.exit_code == 0, r.output
    assert "All checks passed (6 file(s))" in r.output


def test_findings_exit_1_with_json_fields_and_junit(tmp_path, monkeypatch):
    project(tmp_path, "bad")
    r = run(["--format", "json", "lint", "--junit", "out/lint.xml"], tmp_path, monkeypatch)
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["findings"]
    assert set(doc["findings"][0]) == {"path", "line", "column", "cell", "code", "severity", "message"}
    root = ET.parse(tmp_path / "out" / "lint.xml").getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == 2 and all(c.find("failure") is not None for c in cases)


def test_malformed_notebook_is_exit_2_one_line(tmp_path, monkeypatch):
    project(tmp_path, "malformed")
    r = run(["lint", "notebooks/old.ipynb"], tmp_path, monkeypatch)
    assert r.exit_code == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "old.ipynb" in lines[0] and "Traceback" not in r.output


def test_vso_issues_inside_a_pipeline_only(tmp_path, monkeypatch):
    project(tmp_path, "bad")
    r = run(["lint"], tmp_path, monkeypatch)
    assert "##vso" not in r.output
    r = run(["lint"], tmp_path, monkeypatch, env={"TF_BUILD": "True"})
    assert "##vso[task.logissue type=error;sourcepath=notebooks/bad" in r.output or "##vso[task.logissue" in r.output


def test_lint_without_config_needs_paths(tmp_path, monkeypatch):
    r = run(["lint"], tmp_path, monkeypatch)
    assert r.exit_code == 2 and "mlops.yaml" in r.stderr
    shutil.copytree(CORPUS / "good", tmp_path / "nb")
    assert run(["lint", "nb"], tmp_path, monkeypatch).exit_code == 0


def test_config_select_and_cli_ignore(tmp_path, monkeypatch):
    project(tmp_path, "bad")
    (tmp_path / "mlops.yaml").write_text("project: p\nmodel: {name: m}\nlint: {select: [MLO003]}\n")
    r = run(["--format", "json", "lint"], tmp_path, monkeypatch)
    assert {f["code"] for f in json.loads(r.stdout)["findings"]} == {"MLO003"}
    r = run(["lint", "--ignore", "MLO003"], tmp_path, monkeypatch)
    assert r.exit_code == 0


def test_help_and_lint_import_no_heavy_packages(tmp_path):
    project(tmp_path)
    code = (
        "import sys\n"
        "from devops_mlops.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('mlflow', 'pandas', 'databricks.sdk', 'azure.devops', 'deltalake') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    for args in (["--help"], ["lint"]):
        p = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, capture_output=True, text=True)
        assert "HEAVY []" in p.stderr, p.stderr


def test_unknown_command_and_bad_option_are_usage_errors(tmp_path, monkeypatch):
    assert run(["nope"], tmp_path, monkeypatch).exit_code == 2
    assert run(["--format", "xml", "lint"], tmp_path, monkeypatch).exit_code == 2


def test_invoking_click_group_directly_lists_commands():
    r = CliRunner().invoke(cli, ["--help"])
    assert r.exit_code == 0 and "lint" in r.output and "lifecycle" in r.output


def test_an_ipynb_of_the_wrong_shape_is_one_line_and_exit_2(tmp_path):
    import subprocess
    import sys

    (tmp_path / "a.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "x", "outputs": 7}], "nbformat": 4}')
    p = subprocess.run([sys.executable, "-m", "devops_mlops", "lint", "a.ipynb"], cwd=tmp_path, capture_output=True,
                       text=True)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip().splitlines() == ["error: a.ipynb: cell 1: 'outputs' must be a list of outputs"]
