"""`mlops doctor` against the Databricks emulator, through the CLI: a line per check, the fix, nothing left behind."""

from __future__ import annotations

import json

import pytest

from devops_mlops.cli import main
from devops_mlops.testing.databricks_emulator import DatabricksEmulator

TOKEN = "dapi-doctor-1"
USER = "ci@example.com"


def project(tmp_path, host: str, *, model: str = "main.ml.demand", artifacts: str = "/Volumes/main/ml/artifacts"):
    (tmp_path / "notebooks").mkdir(exist_ok=True)
    (tmp_path / "mlops.yaml").write_text(
        f"project: demo\nmodel: {{name: {model}}}\ntargets:\n  local: {{default: true}}\n"
        f"  staging:\n    backend: databricks\n    host: {host}\n    workspace_dir: /Shared/demo/app\n"
        f"    tables: {{catalog: main, schema: ml}}\n    artifacts: {{path: {artifacts}}}\n")


def run(args, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


@pytest.fixture
def emu(monkeypatch, tmp_path):
    with DatabricksEmulator(token=TOKEN, user=USER) as emu:
        monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
        monkeypatch.chdir(tmp_path)
        project(tmp_path, emu.url)
        yield emu


def ready(emu):
    emu.catalog.add_schema("main.ml")
    emu.catalog.grant("catalog", "main", "users", "USE_CATALOG")
    emu.catalog.grant("schema", "main.ml", USER, "USE_SCHEMA", "CREATE_TABLE", "CREATE_VOLUME", "CREATE_MODEL")
    emu.volumes.add_volume("main.ml.artifacts")


def test_a_ready_target_passes_every_check_and_leaves_nothing(emu, capsys):
    ready(emu)
    before = (dict(emu.objects), dict(emu.volumes.files))
    code, out, err = run(["--target", "staging", "--format", "json", "doctor"], capsys)
    doc = json.loads(out)
    assert code == 0, (out, err)
    assert doc["ok"] and [c["name"] for c in doc["checks"]] == [
        "versions", "host", "identity", "workspace", "artifacts", "schema main.ml", "registry"]
    assert all(c["status"] == "ok" for c in doc["checks"]), doc
    checks = {c["name"]: c["detail"] for c in doc["checks"]}
    assert f"user {USER}" in checks["identity"] and "auth pat" in checks["identity"]
    assert "(it will be created)" in checks["workspace"]
    assert (dict(emu.objects), dict(emu.volumes.files)) == before  # nothing written survives
    assert TOKEN not in out + err


def test_each_missing_piece_is_one_failed_line_with_its_fix(emu, capsys):
    emu.catalog.add_schema("main.ml")  # owned by someone else; nothing granted
    code, out, err = run(["--target", "staging", "doctor"], capsys)
    assert code == 1
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith(("ok", "failed", "skipped"))}
    assert lines["artifacts"].startswith("failed") and "create the volume main.ml.artifacts" in lines["artifacts"]
    assert lines["schema"].startswith("failed") and "lacks USE_CATALOG, USE_SCHEMA, CREATE_TABLE" in lines["schema"]
    assert f"GRANT USE CATALOG ON CATALOG main TO `{USER}`" in lines["schema"]
    assert lines["host"].startswith("ok") and lines["identity"].startswith("ok")
    assert out.rstrip().endswith("target staging: not ready")


def test_a_missing_catalog_and_a_refused_token(emu, capsys, monkeypatch):
    emu.volumes.add_volume("main.ml.artifacts")
    code, out, _ = run(["--target", "staging", "doctor"], capsys)
    assert code == 1 and "catalog main does not exist" in out and "CREATE CATALOG main" in out
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong")
    code, out, err = run(["--target", "staging", "--format", "json", "doctor"], capsys)
    doc = json.loads(out)
    status = {c["name"]: c["status"] for c in doc["checks"]}
    assert code == 1 and status["identity"] == "failed" and status["workspace"] == "skipped"
    assert "dapi-wrong" not in out + err


def test_an_unreachable_host_fails_the_host_check_quickly(tmp_path, monkeypatch, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
    project(tmp_path, f"http://127.0.0.1:{port}")
    code, out, _ = run(["--target", "staging", "doctor"], capsys)
    assert code == 1 and "connection refused" in out and out.count("skipped") == 5


def test_a_two_level_name_on_a_unity_catalog_target_is_bad_config(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    project(tmp_path, "http://127.0.0.1:9", model="demand")
    text = (tmp_path / "mlops.yaml").read_text() + "    registry_uri: databricks-uc\n"
    (tmp_path / "mlops.yaml").write_text(text)
    code, out, err = run(["--target", "staging", "doctor"], capsys)
    assert code == 2 and err.startswith("error: ") and "mlops.yaml:2:" in err and "<catalog>.<schema>.<model>" in err
