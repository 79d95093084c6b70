"""The jobs port's contract, over the local adapter (real kernels), the Databricks adapter + emulator
and the in-memory fake."""

import pytest

from devops_mlops.errors import MlopsError

NB_OK = "# Databricks notebook source\ndbutils.notebook.exit('done')\n"
NB_FAIL = "# Databricks notebook source\nx = 1\n\n# COMMAND ----------\n\n1 / 0\n"


def settings(name, paths, tags=None):
    tasks = [{"task_key": "a", "notebook_task": {"notebook_path": paths[0]}}]
    if len(paths) > 1:
        tasks.append({"task_key": "b", "depends_on": [{"task_key": "a"}], "notebook_task": {"notebook_path": paths[1]}})
    return {"name": name, "tasks": tasks, "tags": tags or {"mlops_project": "p", "mlops_job_key": name}}


@pytest.fixture(params=["local", "databricks", pytest.param("fake", marks=pytest.mark.fast)])
def backend(request, tmp_path, monkeypatch):
    """(name, jobs adapter, emulator or None): notebook /ok exits with 'done', /fail raises ZeroDivisionError."""
    if request.param == "fake":
        from devops_mlops.testing.fakes.jobs import FakeJobs

        fake = FakeJobs()
        fake.set_outcome("/fail", error="ZeroDivisionError: division by zero", error_trace="Traceback ... 1 / 0")
        fake.set_outcome("/ok", result="SUCCESS", output="done")
        yield request.param, fake, None
        return
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


def test_run_if_runs_cleanup_after_a_failure_and_excludes_unneeded_handlers(backend):
    _, jobs, _ = backend
    after = [{"task_key": "a"}]
    rid = jobs.submit("handlers", [
        {"task_key": "a", "notebook_task": {"notebook_path": "/fail"}},
        {"task_key": "cleanup", "depends_on": after, "run_if": "ALL_DONE", "notebook_task": {"notebook_path": "/ok"}},
        {"task_key": "alert", "depends_on": after, "run_if": "ALL_FAILED", "notebook_task": {"notebook_path": "/ok"}},
        {"task_key": "next", "depends_on": after, "notebook_task": {"notebook_path": "/ok"}},
        {"task_key": "b", "notebook_task": {"notebook_path": "/ok"}},
        {"task_key": "b_failed", "depends_on": [{"task_key": "b"}], "run_if": "AT_LEAST_ONE_FAILED",
         "notebook_task": {"notebook_path": "/ok"}},
    ])
    run = _finish(jobs, rid)
    assert {t.task_key: t.result_state for t in run.tasks} == {
        "a": "FAILED", "cleanup": "SUCCESS", "alert": "SUCCESS", "next": "UPSTREAM_FAILED", "b": "SUCCESS",
        "b_failed": "EXCLUDED"}
    assert run.result_state == "FAILED"


def test_permissions_start_with_the_creator_as_owner_and_are_replaced_whole(backend):
    _, jobs, _ = backend
    jid = jobs.create(settings("acl", ["/ok"]))
    me = jobs.current_user()["userName"]
    assert jobs.get_permissions(jid) == [{"user_name": me, "permission_level": "IS_OWNER"}]
    acl = [{"user_name": me, "permission_level": "IS_OWNER"}, {"group_name": "users", "permission_level": "CAN_VIEW"}]
    jobs.set_permissions(jid, acl)
    assert sorted(jobs.get_permissions(jid), key=str) == sorted(acl, key=str)
    with pytest.raises(MlopsError):
        jobs.set_permissions(jid, [{"group_name": "users", "permission_level": "CAN_VIEW"}])


def test_missing_jobs_and_runs(backend):
    _, jobs, _ = backend
    assert jobs.get(987654) is None
    with pytest.raises(MlopsError):
        jobs.run_now(987654)
    with pytest.raises(MlopsError):
        jobs.get_run(987654)


def _finish(jobs, run_id):
    from devops_mlops.ops.run import wait_for

    run, timed_out = wait_for(jobs, run_id, timeout=60, first_interval=0.01)
    assert not timed_out
    return run
