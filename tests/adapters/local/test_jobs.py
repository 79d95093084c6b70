"""The local jobs adapter: storage, and runs ordered and skipped by the job graph (a scripted runner
stands in for the kernels, so these run in the fast tier)."""

from types import SimpleNamespace

import pytest

from devops_mlops.adapters.local.jobs import LocalJobs
from devops_mlops.errors import ServiceError

pytestmark = pytest.mark.fast


def test_jobs_persist_across_instances(tmp_path):
    jid = LocalJobs(tmp_path).create({"name": "j", "tasks": []})
    assert LocalJobs(tmp_path).get(jid).settings == {"name": "j", "tasks": []}


def test_missing_notebook_fails_the_task_with_a_hint(tmp_path):
    jobs = LocalJobs(tmp_path)
    run = jobs.get_run(jobs.submit("x", [{"task_key": "t", "notebook_task": {"notebook_path": "/nope"}}]))
    assert run.result_state == "FAILED" and "mlops sync" in run.tasks[0].error


@pytest.fixture
def scripted(tmp_path):
    """LocalJobs whose notebooks "fail" when their file says so; returns (jobs, task(key, ok, **extra), ran)."""
    ran: list[str] = []

    def runner(path, **kw):
        ran.append(kw["task_key"])
        if path.read_text() == "fail":
            return SimpleNamespace(status="failed", exit_value=None, error="boom", traceback="tb", output="",
                                   cell=None, line=None)
        return SimpleNamespace(status="passed", exit_value="done", error=None, traceback=None, output="",
                               cell=None, line=None)

    (tmp_path / "ok.py").write_text("ok")
    (tmp_path / "fail.py").write_text("fail")

    def task(key, ok=True, **extra):
        return {"task_key": key, "notebook_task": {"notebook_path": str(tmp_path / ("ok.py" if ok else "fail.py"))},
                **extra}

    return LocalJobs(tmp_path / "jobs", runner=runner), task, ran


def _states(run):
    return {t.task_key: t.result_state for t in run.tasks}


def test_run_if_decides_which_tasks_run_after_a_failure(scripted):
    jobs, task, ran = scripted
    after = [{"task_key": "a"}]
    run = jobs.get_run(jobs.submit("r", [
        task("a", ok=False),
        task("next", depends_on=after),
        task("cleanup", depends_on=after, run_if="ALL_DONE"),
        task("on_failure", depends_on=after, run_if="AT_LEAST_ONE_FAILED"),
        task("on_all_failed", depends_on=after, run_if="ALL_FAILED"),
    ]))
    assert _states(run) == {"a": "FAILED", "next": "UPSTREAM_FAILED", "cleanup": "SUCCESS", "on_failure": "SUCCESS",
                            "on_all_failed": "SUCCESS"}
    assert ran == ["a", "cleanup", "on_failure", "on_all_failed"]
    assert run.result_state == "FAILED"  # the leaf `next` did not succeed


def test_failure_handlers_are_excluded_when_nothing_failed(scripted):
    jobs, task, ran = scripted
    run = jobs.get_run(jobs.submit("r", [
        task("handler", depends_on=[{"task_key": "a"}], run_if="AT_LEAST_ONE_FAILED"),
        task("a"),
        task("after_handler", depends_on=[{"task_key": "handler"}]),
    ]))
    assert _states(run) == {"handler": "EXCLUDED", "a": "SUCCESS", "after_handler": "EXCLUDED"}
    assert ran == ["a"]
    assert run.result_state == "SUCCESS" and run.tasks[1].notebook_output == "done"


def test_a_failure_handled_by_a_leaf_is_success_with_failures(scripted):
    jobs, task, _ = scripted
    run = jobs.get_run(jobs.submit("r", [task("a", ok=False),
                                         task("cleanup", depends_on=[{"task_key": "a"}], run_if="ALL_DONE")]))
    assert run.result_state == "SUCCESS_WITH_FAILURES"


def test_progress_is_reported_per_task(scripted):
    jobs, task, _ = scripted
    seen = []
    jobs.on_task = lambda key, state: seen.append((key, state))
    jobs.submit("r", [task("a", ok=False), task("b", depends_on=[{"task_key": "a"}])])
    assert seen == [("a", "RUNNING"), ("a", "FAILED"), ("b", "UPSTREAM_FAILED")]


def test_a_graph_that_cannot_run_is_refused_before_a_run_starts(scripted, tmp_path):
    jobs, task, ran = scripted
    with pytest.raises(ServiceError, match="form a cycle: a, b"):
        jobs.submit("r", [task("a", depends_on=[{"task_key": "b"}]), task("b", depends_on=[{"task_key": "a"}])])
    assert ran == [] and not (tmp_path / "jobs" / "runs").exists()
