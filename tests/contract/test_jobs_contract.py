"""The jobs port's contract, over the local adapter (real kernels) and the Databricks adapter + emulator."""

import pytest

NB_OK = "# Databricks notebook source\ndbutils.notebook.exit('done')\n"
NB_FAIL = "# Databricks notebook source\nx = 1\n\n# COMMAND ----------\n\n1 / 0\n"


def settings(name, paths, tags=None):
    tasks = [{"task_key": "a", "notebook_task": {"notebook_path": paths[0]}}]
    if len(paths) > 1:
        tasks.append({"task_key": "b", "depends_on": [{"task_key": "a"}], "notebook_task": {"notebook_path": paths[1]}})
    return {"name": name, "tasks": tasks, "tags": tags or {"mlops_project": "p", "mlops_job_key": name}}


@pytest.fixture(params=["local", "databricks"])
def backend(request, tmp_path, monkeypatch):
    """(jobs adapter, ok notebook path, failing notebook path, make_fail(path))"""
    if request.param == "local":
        from devops_mlops.adapters.local.jobs import LocalJobs
        from devops_mlops.adapters.local.workspace import LocalWorkspace

        ws = LocalWorkspace(tmp_path / "ws")
        (tmp_path / "ws").mkdir()
        ws.import_("/ok", NB_OK.encode(), format="SOURCE", language="PYTHON", overwrite=True)
        ws.import_("/fail", NB_FAIL.encode(), format="SOURCE", language="PYTHON", overwrite=True)
        yield request.param, LocalJobs(tmp_path / "jobs", ws), None
        return
    from types import SimpleNamespace

    from devops_mlops.adapters.databricks.client import build_client
    from devops_mlops.adapters.databricks.jobs import DatabricksJobs
    from devops_mlops.testing.databricks_emulator import DatabricksEmulator

    with DatabricksEmulator(token="dapi-contract") as emu:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-contract")
        emu.set_outcome("/fail", error="ZeroDivisionError: division by zero", error_trace="Traceback ... 1 / 0")
        emu.set_outcome("/ok", result="SUCCESS", output="done")
        yield request.param, DatabricksJobs(build_client(SimpleNamespace(host=emu.url, profile=None, name="t"))), emu


def test_create_get_list_reset_delete(backend):
    _, jobs, _ = backend
    jid = jobs.create(settings("j1", ["/ok"]))
    other = jobs.create(settings("j2", ["/ok"]))
    assert jid != other
    got = jobs.get(jid)
    assert got.settings["name"] == "j1"
    assert got.settings["tags"]["mlops_job_key"] == "j1"
    assert {j.job_id for j in jobs.list()} >= {jid, other}
    listed = {j.job_id: j for j in jobs.list()}
    assert listed[jid].settings["tasks"][0]["notebook_task"]["notebook_path"] == "/ok"
    new = settings("j1", ["/ok", "/ok"])
    jobs.reset(jid, new)
    assert [t["task_key"] for t in jobs.get(jid).settings["tasks"]] == ["a", "b"]
    jobs.delete(other)
    assert jobs.get(other) is None
    jobs.delete(other)  # again: no error


def test_run_success_with_output(backend):
    _, jobs, _ = backend
    jid = jobs.create(settings("ok", ["/ok", "/ok"]))
    run = _finish(jobs, jobs.run_now(jid, {"p": "1"}))
    assert run.state == "TERMINATED" and run.result_state == "SUCCESS"
    assert [t.result_state for t in run.tasks] == ["SUCCESS", "SUCCESS"]
    assert run.tasks[0].notebook_output == "done"


def test_failed_task_has_error_and_downstream_is_not_run(backend):
    _, jobs, _ = backend
    jid = jobs.create(settings("bad", ["/fail", "/ok"]))
    run = _finish(jobs, jobs.run_now(jid))
    assert run.result_state == "FAILED"
    a, b = run.tasks
    assert a.result_state == "FAILED" and "ZeroDivisionError" in a.error
    assert b.result_state == "UPSTREAM_FAILED"


def test_submit_one_time_run(backend):
    _, jobs, _ = backend
    rid = jobs.submit("one-off", [{"task_key": "t", "notebook_task": {"notebook_path": "/fail"}}])
    run = _finish(jobs, rid)
    assert run.job_id is None
    assert run.result_state == "FAILED"
    assert run.tasks[0].task_key == "t" and run.tasks[0].error


def _finish(jobs, run_id):
    from devops_mlops.ops.run import wait_for

    run, timed_out = wait_for(jobs, run_id, timeout=60, first_interval=0.01)
    assert not timed_out
    return run
