"""The job graph: task order, run_if, the run's result and repairs, as Databricks Jobs documents them."""

import pytest

from devops_mlops.core.jobgraph import RUN, RUN_IF, JobGraph, JobGraphError

pytestmark = pytest.mark.fast


def graph(*specs: str, run_if: dict[str, str] | None = None) -> JobGraph:
    """``"b<a,c"``: task b depends on a and c."""
    tasks = []
    for spec in specs:
        key, _, deps = spec.partition("<")
        task = {"task_key": key, "depends_on": [{"task_key": d} for d in deps.split(",") if d]}
        if run_if and key in run_if:
            task["run_if"] = run_if[key]
        tasks.append(task)
    return JobGraph.of(tasks)


def test_order_puts_dependencies_first_and_keeps_the_jobs_order_among_ready_tasks():
    assert graph("a", "b", "c").order() == ["a", "b", "c"]
    assert graph("b<a", "a", "c").order() == ["a", "b", "c"]
    assert graph("d<b,c", "c<a", "b<a", "a").order() == ["a", "c", "b", "d"]


def test_ready_leaves_and_downstream():
    g = graph("a", "b<a", "c<a", "d<b,c", "e")
    assert g.ready({}) == ["a", "e"]
    assert g.ready({"a": "SUCCESS"}) == ["b", "c", "e"]
    assert g.ready({"a": "SUCCESS", "b": "SUCCESS", "c": "FAILED", "e": "SUCCESS"}) == ["d"]
    assert g.leaves() == ["d", "e"]
    assert g.downstream(["b"]) == {"d"}
    assert g.downstream(["a"]) == {"b", "c", "d"}


@pytest.mark.parametrize(("tasks", "message"), [
    ([{"task_key": "a", "depends_on": [{"task_key": "b"}]}, {"task_key": "b", "depends_on": [{"task_key": "a"}]}],
     "form a cycle: a, b"),
    ([{"task_key": "a", "depends_on": [{"task_key": "zz"}]}], "task a depends on zz"),
    ([{"task_key": "a"}, {"task_key": "a"}], "unique: a"),
    ([{"task_key": "a", "run_if": "SOMETIMES"}], "run_if SOMETIMES"),
])
def test_graphs_a_job_cannot_run_are_refused(tasks, message):
    with pytest.raises(JobGraphError, match=message):
        JobGraph.of(tasks)


# the dependencies' results -> what each run_if makes of them (Databricks' table)
CASES = {
    ("SUCCESS", "SUCCESS"): {"ALL_SUCCESS": RUN, "AT_LEAST_ONE_SUCCESS": RUN, "NONE_FAILED": RUN, "ALL_DONE": RUN,
                             "AT_LEAST_ONE_FAILED": "EXCLUDED", "ALL_FAILED": "EXCLUDED"},
    ("SUCCESS", "FAILED"): {"ALL_SUCCESS": "UPSTREAM_FAILED", "AT_LEAST_ONE_SUCCESS": RUN,
                            "NONE_FAILED": "UPSTREAM_FAILED", "ALL_DONE": RUN, "AT_LEAST_ONE_FAILED": RUN,
                            "ALL_FAILED": "EXCLUDED"},
    ("TIMEDOUT", "UPSTREAM_FAILED"): {"ALL_SUCCESS": "UPSTREAM_FAILED", "AT_LEAST_ONE_SUCCESS": "UPSTREAM_FAILED",
                                      "NONE_FAILED": "UPSTREAM_FAILED", "ALL_DONE": RUN, "AT_LEAST_ONE_FAILED": RUN,
                                      "ALL_FAILED": RUN},
    ("EXCLUDED", "SUCCESS"): {"ALL_SUCCESS": RUN, "AT_LEAST_ONE_SUCCESS": RUN, "NONE_FAILED": RUN, "ALL_DONE": RUN,
                              "AT_LEAST_ONE_FAILED": "EXCLUDED", "ALL_FAILED": "EXCLUDED"},
    ("EXCLUDED", "EXCLUDED"): dict.fromkeys(RUN_IF, "EXCLUDED"),
    ("CANCELED", "SUCCESS"): {"ALL_SUCCESS": "UPSTREAM_CANCELED", "AT_LEAST_ONE_SUCCESS": RUN,
                              "NONE_FAILED": "UPSTREAM_CANCELED", "ALL_DONE": RUN, "AT_LEAST_ONE_FAILED": RUN,
                              "ALL_FAILED": "EXCLUDED"},
    ("CANCELED", "FAILED"): {"ALL_SUCCESS": "UPSTREAM_FAILED", "AT_LEAST_ONE_SUCCESS": "UPSTREAM_FAILED",
                             "NONE_FAILED": "UPSTREAM_FAILED", "ALL_DONE": RUN, "AT_LEAST_ONE_FAILED": RUN,
                             "ALL_FAILED": RUN},
}


@pytest.mark.parametrize("results", list(CASES))
@pytest.mark.parametrize("rule", RUN_IF)
def test_run_if(results, rule):
    g = graph("a", "b", "c<a,b", run_if={"c": rule})
    assert g.decide("c", {"a": results[0], "b": results[1]}) == CASES[results][rule]


def test_a_task_without_dependencies_runs_and_one_waiting_cannot_be_decided():
    g = graph("a", "b<a")
    assert g.decide("a", {}) == RUN
    with pytest.raises(JobGraphError, match="waits for a"):
        g.decide("b", {})


def test_run_if_defaults_to_all_success():
    g = graph("a", "b<a")
    assert g.run_if["b"] == "ALL_SUCCESS"
    assert g.decide("b", {"a": "FAILED"}) == "UPSTREAM_FAILED"


def test_the_runs_result_follows_its_leaves():
    g = graph("a", "cleanup<a", run_if={"cleanup": "ALL_DONE"})
    assert g.result({"a": "SUCCESS", "cleanup": "SUCCESS"}) == "SUCCESS"
    assert g.result({"a": "FAILED", "cleanup": "SUCCESS"}) == "SUCCESS_WITH_FAILURES"
    assert g.result({"a": "FAILED", "cleanup": "FAILED"}) == "FAILED"
    handler = graph("a", "on_failure<a", run_if={"on_failure": "AT_LEAST_ONE_FAILED"})
    assert handler.result({"a": "SUCCESS", "on_failure": "EXCLUDED"}) == "SUCCESS"
    assert graph("a", "b<a").result({"a": "FAILED", "b": "UPSTREAM_FAILED"}) == "FAILED"


def test_repair_reruns_what_is_asked_what_failed_and_optionally_what_follows():
    g = graph("a", "b<a", "c<b", "d")
    ended = {"a": "SUCCESS", "b": "FAILED", "c": "UPSTREAM_FAILED", "d": "SUCCESS"}
    assert g.repair(ended, ["b"]) == ["b"]
    assert g.repair(ended, all_failed=True) == ["b", "c"]
    assert g.repair(ended, ["a"], dependents=True) == ["a", "b", "c"]
    assert g.repair(ended, ["d"], all_failed=True) == ["b", "c", "d"]
    assert g.repair({**ended, "b": "EXCLUDED", "c": "SUCCESS"}, all_failed=True) == []
    with pytest.raises(JobGraphError, match="no such task in the run: x"):
        g.repair(ended, ["x"])
