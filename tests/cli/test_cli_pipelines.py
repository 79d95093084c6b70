"""`mlops pipelines validate` on the command line: exit codes, JSON, pipeline logging commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devops_mlops.cli import main

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "pipelines"


def mlops(*args: str) -> int:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return exc.value.code


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder without mlops.yaml: validate needs no config."""
    (tmp_path / "azure-pipelines").mkdir()
    (tmp_path / "azure-pipelines" / "ci.yml").write_text(
        "trigger: none\npool: {vmImage: ubuntu-latest}\nsteps:\n- bash: mlops lint --select E1\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_clean_folder_exits_0(project, capsys):
    assert mlops("pipelines", "validate") == 0
    assert "1 file(s), 0 finding(s)" in capsys.readouterr().out


def test_findings_exit_1_with_json_fields(project, capsys):
    (project / "azure-pipelines" / "ci.yml").write_text("trigger: none\nsteps:\n- bash: mlops lint --nope\n")
    assert mlops("--format", "json", "pipelines", "validate") == 1
    out = capsys.readouterr()
    doc = json.loads(out.out)
    (f,) = doc["findings"]
    assert set(f) == {"path", "line", "column", "code", "severity", "message"}
    assert (f["path"], f["line"], f["code"], f["severity"]) == ("azure-pipelines/ci.yml", 3, "PL106", "error")
    assert "failed: 1 finding(s)" in out.err


def test_warnings_only_exit_0_and_are_logged_as_warnings(project, capsys, monkeypatch):
    (project / "azure-pipelines" / "ci.yml").write_text(
        "trigger: none\nsteps:\n- task: PublishBuildArtifacts@1\n  inputs: {PathToPublsh: out}\n"
    )
    monkeypatch.setenv("TF_BUILD", "True")
    assert mlops("pipelines", "validate") == 0
    out = capsys.readouterr().out
    assert "PL112 warning:" in out and "0 finding(s) and 1 warning(s)" in out
    assert "##vso[task.logissue type=warning" in out


def test_malformed_exits_2_without_traceback(capsys):
    assert mlops("pipelines", "validate", str(CORPUS / "malformed.yml")) == 2
    err = capsys.readouterr().err
    assert "malformed.yml:4: malformed YAML" in err and "Traceback" not in err


def test_missing_folder_is_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert mlops("pipelines", "validate") == 2
    assert "no azure-pipelines/ folder" in capsys.readouterr().err


def test_logissue_inside_a_pipeline(project, capsys, monkeypatch):
    monkeypatch.setenv("TF_BUILD", "True")
    (project / "azure-pipelines" / "ci.yml").write_text("trigger: none\nsteps:\n- bash: echo $(DATABRICKS_TOKEN)\n")
    assert mlops("pipelines", "validate") == 1
    out = capsys.readouterr().out
    assert "##vso[task.logissue type=error;sourcepath=azure-pipelines/ci.yml;linenumber=3;" in out and "code=PL101" in out


def test_remote_says_it_skipped(project, capsys):
    assert mlops("pipelines", "validate", "--remote") == 0
    captured = capsys.readouterr()
    assert "remote preview skipped" in captured.err and "remote preview skipped" in captured.out
