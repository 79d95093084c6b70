"""The assertion helpers and scripting of the jobs and workspace fakes (their port behaviour is in
tests/contract/)."""

import pytest

from devops_mlops.errors import ServiceError
from devops_mlops.testing.fakes.jobs import FakeJobs
from devops_mlops.testing.fakes.workspace import FakeWorkspace

pytestmark = pytest.mark.fast

NB = b"# Databricks notebook source\nprint(1)\n"


def _job(name, *paths, tags=None):
    tasks = [{"task_key": f"t{i}", "notebook_task": {"notebook_path": p},
              **({"depends_on": [{"task_key": f"t{i - 1}"}]} if i else {})} for i, p in enumerate(paths)]
    return {"name": name, "tasks": tasks, "tags": tags or {}, "parameters": [{"name": "env", "default": "dev"}]}


def test_jobs_record_creates_runs_and_parameters():
    jobs = FakeJobs()
    first = jobs.create(_job("a", "/nb/x", tags={"mlops_job_key": "a"}))
    second = jobs.create(_job("b", "/nb/y"))
    assert [s["name"] for s in jobs.created] == ["a", "b"]
    assert jobs.jobs[first]["tags"] == {"mlops_job_key": "a"}
    one = jobs.run_now(first, {"extra": "1"})
    two = jobs.run_now(first)
    jobs.run_now(second)
    assert [r.run_id for r in jobs.runs_of(first)] == [one, two]
    assert jobs.parameters[one] == {"env": "dev", "extra": "1"} and jobs.parameters[two] == {"env": "dev"}
    jobs.runs_of(first)[0].tasks[0].result_state = "changed"
    assert jobs.get_run(one).tasks[0].result_state == "SUCCESS"  # callers get copies


def test_outcomes_are_scripted_by_task_key_before_notebook_path():
    jobs = FakeJobs()
    jobs.set_outcome("/nb/x", "TIMEDOUT")
    jobs.set_outcome("t1", "SUCCESS", output="42")
    run = jobs.get_run(jobs.submit("r", _job("a", "/nb/ok", "/nb/x")["tasks"] + [
        {"task_key": "t2", "notebook_task": {"notebook_path": "/nb/x"}}]))
    assert [(t.task_key, t.result_state) for t in run.tasks] == [("t0", "SUCCESS"), ("t1", "SUCCESS"),
                                                                 ("t2", "TIMEDOUT")]
    assert run.tasks[1].notebook_output == "42" and run.tasks[2].error == "Notebook failed"
    assert run.job_id is None and run.result_state == "FAILED"


def test_held_runs_wait_until_finished_or_canceled():
    jobs = FakeJobs()
    jobs.hold = True
    jid = jobs.create(_job("a", "/nb/x", "/nb/y"))
    waiting, stopped = jobs.run_now(jid), jobs.run_now(jid)
    assert jobs.get_run(waiting).state == "RUNNING"
    assert [t.state for t in jobs.get_run(waiting).tasks] == ["PENDING", "PENDING"]
    jobs.finish(waiting)
    assert jobs.get_run(waiting).result_state == "SUCCESS"
    jobs.cancel_run(stopped)
    jobs.cancel_run(waiting)  # already ended: nothing changes
    assert jobs.canceled == [stopped]
    assert jobs.get_run(stopped).result_state == "CANCELED"
    assert jobs.get_run(waiting).result_state == "SUCCESS"


def test_jobs_refuse_graphs_that_cannot_run():
    jobs = FakeJobs()
    cyclic = {"name": "c", "tasks": [{"task_key": "a", "depends_on": [{"task_key": "b"}]},
                                     {"task_key": "b", "depends_on": [{"task_key": "a"}]}]}
    with pytest.raises(ServiceError, match="cycle"):
        jobs.create(cyclic)
    assert jobs.created == [] and jobs.jobs == {}


def test_workspace_records_imports_files_and_notebooks():
    ws = FakeWorkspace()
    ws.mkdirs("/Shared/p")
    ws.import_("/Shared/p/train.py", NB, format="AUTO", language=None, overwrite=False)
    ws.import_("/Shared/p/conf.yaml", b"a: 1\n", format="AUTO", language=None, overwrite=False)
    ws.import_("/Shared/p/q", b"-- Databricks notebook source\n", format="SOURCE", language="sql", overwrite=False)
    assert ws.imported == [("/Shared/p/train", "SOURCE", "PYTHON"), ("/Shared/p/conf.yaml", "RAW", None),
                           ("/Shared/p/q", "SOURCE", "SQL")]
    assert ws.files["/Shared/p/train"] == NB
    assert ws.notebooks == {"/Shared/p/train": "PYTHON", "/Shared/p/q": "SQL"}
    assert "/Shared/p" in ws.folders and ws.objects["/Shared/p/train"].format == "SOURCE"
    assert ws.get_status("/Shared/p/conf.yaml").size == 5


def test_workspace_paths_must_be_absolute_and_plain():
    ws = FakeWorkspace()
    for bad in ("Shared/x", "/Shared/../x"):
        with pytest.raises(ServiceError):
            ws.mkdirs(bad)


def test_deleting_a_git_folder_forgets_it():
    ws = FakeWorkspace()
    repo = ws.create_repo("https://example.invalid/r", "azureDevOpsServices", "/Repos/ci/r")
    assert ws.repos[repo.id].head_commit_id == "0" * 40
    ws.delete("/Repos/ci/r", recursive=True)
    assert ws.repos == {} and ws.find_repo("/Repos/ci/r") is None
