"""Runs in the Databricks emulator: run_if, the run's result and repairs, stepped by polls, at once,
and through the emulator's compute (tasks that are not notebooks end as scripted there, so no kernel
starts)."""

import time

import pytest

from devops_mlops.testing.databricks import ClusterRuntime, DatabricksEmulator

API = "/api/2.2/jobs"


def _task(key, *deps, run_if=None, notebook=True):
    task = {"task_key": key, "depends_on": [{"task_key": d} for d in deps]}
    if notebook:
        task["notebook_task"] = {"notebook_path": f"/nb/{key}"}
    else:
        task["spark_python_task"] = {"python_file": f"/py/{key}.py"}
    if run_if:
        task["run_if"] = run_if
    return task


@pytest.fixture
def emu():
    with DatabricksEmulator(token=None) as e:
        yield e


def _client(emu):
    from databricks.sdk import WorkspaceClient

    return WorkspaceClient(host=emu.url, token="unused")


def _submit(client, tasks):
    return client.api_client.do("POST", f"{API}/runs/submit", body={"run_name": "r", "tasks": tasks})["run_id"]


def _get(client, run_id, **query):
    return client.api_client.do("GET", f"{API}/runs/get", query={"run_id": run_id, **query})


def _wait(client, run_id):
    for _ in range(500):
        doc = _get(client, run_id)
        if doc["state"]["life_cycle_state"] == "TERMINATED":
            return doc
        time.sleep(0.01)
    raise AssertionError(f"run {run_id} did not end: {doc}")


def _results(doc):
    return {t["task_key"]: t["state"].get("result_state") for t in doc["tasks"]}


FAILURE_HANDLING = [_task("a"), _task("b", "a"), _task("cleanup", "b", run_if="ALL_DONE"),
                    _task("alert", "b", run_if="AT_LEAST_ONE_FAILED"), _task("next", "b")]


def test_run_if_and_the_runs_result_follow_the_job_graph(emu):
    client = _client(emu)
    emu.set_outcome("b", error="boom")
    doc = _get(client, _submit(client, FAILURE_HANDLING))
    assert _results(doc) == {"a": "SUCCESS", "b": "FAILED", "cleanup": "SUCCESS", "alert": "SUCCESS",
                             "next": "UPSTREAM_FAILED"}
    assert doc["state"]["result_state"] == "FAILED"
    emu.set_outcome("/nb/alert", "SUCCESS", output="sent")
    emu.set_outcome("b", "SUCCESS")
    doc = _get(client, _submit(client, FAILURE_HANDLING))
    assert _results(doc)["alert"] == "EXCLUDED" and doc["state"]["result_state"] == "SUCCESS"
    assert "notebook_output" not in _output(client, doc, "alert")  # a skipped task has no output
    emu.set_outcome("b", error="boom")
    doc = _get(client, _submit(client, FAILURE_HANDLING))
    assert _output(client, doc, "alert")["notebook_output"]["result"] == "sent"


def _output(client, doc, key):
    task_run = next(t["run_id"] for t in doc["tasks"] if t["task_key"] == key)
    return client.api_client.do("GET", f"{API}/runs/get-output", query={"run_id": task_run})


def test_a_run_steps_through_its_tasks_one_poll_at_a_time(emu):
    client = _client(emu)
    emu.run_steps = 1
    emu.set_outcome("a", error="boom")
    run_id = _submit(client, [_task("a"), _task("b", "a"), _task("c", "b", run_if="ALL_DONE")])
    seen = [{k: v for k, v in _results(_get(client, run_id)).items() if v} for _ in range(4)]
    # a starts; a ends; b is held back and c starts; c ends
    assert seen == [{}, {"a": "FAILED"}, {"a": "FAILED", "b": "UPSTREAM_FAILED"},
                    {"a": "FAILED", "b": "UPSTREAM_FAILED", "c": "SUCCESS"}]
    assert _get(client, run_id)["state"]["result_state"] == "SUCCESS_WITH_FAILURES"


def test_tasks_that_cannot_make_a_graph_are_refused(emu):
    from databricks.sdk.errors import InvalidParameterValue

    client = _client(emu)
    with pytest.raises(InvalidParameterValue, match="form a cycle"):
        client.api_client.do("POST", f"{API}/create", body={"name": "j", "tasks": [_task("a", "b"), _task("b", "a")]})
    with pytest.raises(InvalidParameterValue, match="depends on zz"):
        _submit(client, [_task("a", "zz")])
    with pytest.raises(InvalidParameterValue, match="run_if SOMETIMES"):
        _submit(client, [_task("a"), _task("b", "a", run_if="SOMETIMES")])
    assert emu.jobs == {} and emu.runs == {}


def test_a_repair_reruns_failed_tasks_in_the_same_run(emu):
    from databricks.sdk.errors import InvalidParameterValue

    client = _client(emu)
    emu.set_outcome("b", error="boom")
    run_id = _submit(client, [_task("a"), _task("b", "a"), _task("c", "b")])
    first = _get(client, run_id)
    assert _results(first) == {"a": "SUCCESS", "b": "FAILED", "c": "UPSTREAM_FAILED"}
    emu.outcomes.clear()
    repair = client.api_client.do("POST", f"{API}/runs/repair", body={"run_id": run_id, "rerun_all_failed_tasks": True})
    doc = _get(client, run_id, include_history="true")
    assert _results(doc) == {"a": "SUCCESS", "b": "SUCCESS", "c": "SUCCESS"}
    assert doc["state"]["result_state"] == "SUCCESS"
    new_ids = {t["task_key"]: t["run_id"] for t in doc["tasks"]}
    old_ids = {t["task_key"]: t["run_id"] for t in first["tasks"]}
    assert new_ids["a"] == old_ids["a"] and new_ids["b"] != old_ids["b"]
    assert doc["repair_history"] == [{"type": "ORIGINAL", "id": run_id},
                                     {"type": "REPAIR", "id": repair["repair_id"],
                                      "task_run_ids": [new_ids["b"], new_ids["c"]]}]
    with pytest.raises(InvalidParameterValue, match="latest repair ID"):
        client.api_client.do("POST", f"{API}/runs/repair", body={"run_id": run_id, "rerun_tasks": ["a"]})
    client.api_client.do("POST", f"{API}/runs/repair", body={"run_id": run_id, "rerun_tasks": ["a"],
                                                             "rerun_dependent_tasks": True,
                                                             "latest_repair_id": repair["repair_id"]})
    assert len(_get(client, run_id, include_history="true")["repair_history"]) == 3
    with pytest.raises(InvalidParameterValue, match="no such task in the run: x"):
        client.api_client.do("POST", f"{API}/runs/repair", body={
            "run_id": run_id, "rerun_tasks": ["x"], "latest_repair_id": emu.runs[run_id].repairs[-1]["id"]})


def test_a_run_still_going_cannot_be_repaired(emu):
    from databricks.sdk.errors import InvalidParameterValue

    client = _client(emu)
    emu.run_steps = 1
    run_id = _submit(client, [_task("a")])
    with pytest.raises(InvalidParameterValue, match="still running"):
        client.api_client.do("POST", f"{API}/runs/repair", body={"run_id": run_id, "rerun_tasks": ["a"]})


def test_the_compute_follows_the_same_graph_and_repairs(emu):
    client = _client(emu)
    emu.execute(ClusterRuntime())
    emu.set_outcome("b", error="boom")
    tasks = [_task("a", notebook=False), _task("b", "a", notebook=False),
             _task("cleanup", "b", run_if="ALL_DONE", notebook=False), _task("next", "b", notebook=False)]
    run_id = _submit(client, tasks)
    doc = _wait(client, run_id)
    assert _results(doc) == {"a": "SUCCESS", "b": "FAILED", "cleanup": "SUCCESS", "next": "UPSTREAM_FAILED"}
    assert emu.runs[run_id].executed
    emu.outcomes.clear()
    client.api_client.do("POST", f"{API}/runs/repair", body={"run_id": run_id, "rerun_tasks": ["b"],
                                                             "rerun_dependent_tasks": True})
    doc = _wait(client, run_id)
    assert _results(doc) == {"a": "SUCCESS", "b": "SUCCESS", "cleanup": "SUCCESS", "next": "SUCCESS"}
