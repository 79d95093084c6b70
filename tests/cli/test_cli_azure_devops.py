"""`mlops azure-devops setup` through the CLI: text, JSON, dry run, exit codes, no token in output."""

from __future__ import annotations

import json

import pytest

from devops_mlops.cli import main
from devops_mlops.testing.azure_devops import AzureDevOpsEmulator

PAT = "cli-pat-777777"
PIPE = "steps:\n- script: x\n  env:\n    DATABRICKS_TOKEN: $(DATABRICKS_TOKEN)\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    with AzureDevOpsEmulator(token=PAT) as emu:
        emu.add_project("ml")
        emu.add_repository("ml", "models")
        (tmp_path / "azure-pipelines").mkdir()
        for name in ("pr", "release", "monitoring"):
            (tmp_path / "azure-pipelines" / f"{name}.yml").write_text(PIPE)
        (tmp_path / "mlops.yaml").write_text(
            f"project: churn\nmodel: {{name: m}}\nscm:\n  azure_devops: {{organization_url: '{emu.org_url}', "
            "project: ml, repository: models}\n")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", PAT)
        yield emu


def _run(args, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def test_dry_run_then_apply_then_nothing_to_change(project, capsys):
    code, out, _ = _run(["azure-devops", "setup", "--dry-run"], capsys)
    assert code == 0 and "would create" in out and "churn-pr" in out and project.writes() == []
    assert "approval" in out and "approvers: Emulator User (the token's identity" in out
    code, out, _ = _run(["--format", "json", "azure-devops", "setup"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["changed"] and "manual" not in {s["action"] for s in doc["steps"]}
    [approval] = [s for s in doc["steps"] if s["kind"] == "approval"]  # no approvers configured: the token's user
    assert approval["action"] == "create" and "Emulator User (the token's identity" in approval["detail"]
    assert [a["id"] for c in project.checks.values() for a in c["settings"]["approvers"]] == [project.user["id"]]
    code, out, _ = _run(["azure-devops", "setup"], capsys)
    assert code == 0 and "nothing to change" in out
    assert PAT not in out


def test_bad_input_is_one_line_and_exit_2(project, capsys, monkeypatch):
    monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", "wrong-pat-1")
    code, out, err = _run(["azure-devops", "setup"], capsys)
    assert code == 2 and err.count("\n") == 1 and "401" in err and "Traceback" not in err
    assert "wrong-pat-1" not in out + err
    monkeypatch.delenv("AZURE_DEVOPS_EXT_PAT")
    code, _, err = _run(["azure-devops", "setup"], capsys)
    assert code == 2 and "AZURE_DEVOPS_EXT_PAT" in err
