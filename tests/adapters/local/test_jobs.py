from devops_mlops.adapters.local.jobs import LocalJobs, _run_if_ok


def test_jobs_persist_across_instances(tmp_path):
    jid = LocalJobs(tmp_path).create({"name": "j", "tasks": []})
    assert LocalJobs(tmp_path).get(jid).settings == {"name": "j", "tasks": []}


def test_missing_notebook_fails_the_task_with_a_hint(tmp_path):
    jobs = LocalJobs(tmp_path)
    run = jobs.get_run(jobs.submit("x", [{"task_key": "t", "notebook_task": {"notebook_path": "/nope"}}]))
    assert run.result_state == "FAILED" and "mlops sync" in run.tasks[0].error


def test_run_if_rules():
    assert _run_if_ok("ALL_SUCCESS", ["SUCCESS"]) and not _run_if_ok("ALL_SUCCESS", ["FAILED"])
    assert _run_if_ok("ALL_DONE", ["FAILED"]) and _run_if_ok("AT_LEAST_ONE_FAILED", ["FAILED", "SUCCESS"])
