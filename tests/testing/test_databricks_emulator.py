"""The emulator itself, spoken to with the real SDK."""

import pytest

from devops_mlops.testing.databricks_emulator import DatabricksEmulator
from devops_mlops.testing.http import Faults


@pytest.fixture
def w(monkeypatch):
    from databricks.sdk import WorkspaceClient

    with DatabricksEmulator(token="dapi-emu") as emu:
        yield emu, WorkspaceClient(host=emu.url, token="dapi-emu")


def test_sdk_probe_and_token_required(w):
    emu, client = w
    assert emu.requests[0].path == "/.well-known/databricks-config"
    client.workspace.mkdirs("/Shared/x")
    assert emu.requests_by_path("mkdirs")[0].headers["authorization"] == "Bearer dapi-emu"


def test_workspace_and_jobs_state(w):
    import base64

    from databricks.sdk.service.workspace import ImportFormat, Language

    emu, client = w
    client.workspace.mkdirs("/Shared/x")
    client.workspace.import_("/Shared/x/nb", content=base64.b64encode(b"# Databricks notebook source\n").decode(),
                             format=ImportFormat.SOURCE, language=Language.PYTHON)
    assert emu.files == {"/Shared/x/nb": b"# Databricks notebook source\n"}
    created = client.api_client.do("POST", "/api/2.1/jobs/create", body={"name": "j", "tasks": []})
    assert emu.jobs_created == [{"name": "j", "tasks": []}]
    got = client.jobs.get(created["job_id"])
    assert got.settings.max_concurrent_runs == 1  # the service's defaults are filled in


def test_throttle_is_retried_by_the_sdk(w):
    emu, client = w
    emu.faults = Faults(script=["throttle"], retry_after=0)
    client.workspace.mkdirs("/Shared/y")
    assert [f[2] for f in emu.faults_injected] == ["throttle"]
    assert "/Shared/y" in emu.folders


def test_runs_advance_and_cancel(w):
    emu, client = w
    emu.run_steps = 1
    run_id = client.api_client.do("POST", "/api/2.2/jobs/runs/submit", body={
        "run_name": "r", "tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "/x"}}],
        "idempotency_token": "t1"})["run_id"]
    again = client.api_client.do("POST", "/api/2.2/jobs/runs/submit", body={
        "run_name": "r", "tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "/x"}}],
        "idempotency_token": "t1"})["run_id"]
    assert run_id == again and len(emu.runs) == 1
    states = [client.jobs.get_run(run_id).state.life_cycle_state.value for _ in range(3)]
    assert states == ["RUNNING", "TERMINATED", "TERMINATED"]
