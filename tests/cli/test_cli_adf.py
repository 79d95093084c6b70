"""`mlops adf export|deploy` through the real entry point (exit codes, one JSON document)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from devops_mlops.cli import main
from devops_mlops.testing.arm_emulator import ArmDataFactoryEmulator

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "adf" / "project"
SUB = "00000000-0000-0000-0000-000000000001"


@pytest.fixture
def project(tmp_path):
    dest = tmp_path / "project"
    shutil.copytree(FIXTURE, dest)
    return dest


def mlops(project, *args):
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(project / "mlops.yaml"), *args])
    return exit_.value.code


def test_export_json_is_one_document(project, capsys):
    code = mlops(project, "--target", "prod", "--format", "json", "adf", "export", "--out", str(project / "out"))
    out = capsys.readouterr()
    assert code == 0
    doc = json.loads(out.out)
    assert "pipeline/retrain_model" in doc["resources"] and len(doc["written"]) == 8
    assert (project / "out" / "trigger" / "monitor_model_schedule.json").is_file()
    assert "register" in out.err  # warnings on stderr


def test_export_dry_run_and_default_folder(project, capsys):
    assert mlops(project, "--target", "prod", "--dry-run", "adf", "export") == 0
    assert "would write" in capsys.readouterr().out
    assert not (project / "adf").exists()
    assert mlops(project, "--target", "prod", "adf", "export") == 0
    assert (project / "adf" / "prod" / "pipeline" / "training.json").is_file()


def test_bad_input_exits_2_naming_what_is_missing(project, capsys):
    cfg = project / "mlops.yaml"
    cfg.write_text(cfg.read_text().replace("  check_notebook: notebooks/monitor\n", ""))
    assert mlops(project, "--target", "prod", "adf", "export") == 2
    assert "monitoring.check_notebook: missing" in capsys.readouterr().err
    assert mlops(project, "--target", "kv", "adf", "deploy") == 2
    assert "targets.kv.adf: missing subscription_id, resource_group" in capsys.readouterr().err
    assert mlops(project, "adf", "export") == 2  # the default target is local: nothing synced to Databricks
    assert "backend 'local'" in capsys.readouterr().err


def test_deploy_then_nothing_to_do(project, capsys, monkeypatch):
    with ArmDataFactoryEmulator() as arm:
        arm.add_factory(SUB, "rg-mlops", "adf-tolls")
        cfg = project / "mlops.yaml"
        cfg.write_text(cfg.read_text().replace("      factory: adf-tolls\n      workspace_resource_id",
                                               f"      factory: adf-tolls\n      arm_endpoint: {arm.url}\n"
                                               "      workspace_resource_id", 1))
        # the Azure sign-in is the one outside piece replaced: a static token the emulator accepts
        monkeypatch.setattr("devops_mlops.adf.deploy.default_credential", arm.credential)
        assert mlops(project, "--target", "prod", "--dry-run", "adf", "deploy") == 0
        assert arm.writes() == [] and "would" in capsys.readouterr().out
        assert mlops(project, "--target", "prod", "adf", "deploy") == 0
        assert "6 changed" in capsys.readouterr().out
        assert mlops(project, "--target", "prod", "--format", "json", "adf", "deploy") == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["writes"] == 0 and {c["action"] for c in doc["changes"]} == {"unchanged"}
