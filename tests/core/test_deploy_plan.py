from devops_mlops.core.deploy_plan import diff, normalize, plan_deploy

import pytest

pytestmark = pytest.mark.fast

MINE = {"name": "a", "tasks": [{"task_key": "t", "notebook_task": {"notebook_path": "/x"}}],
        "tags": {"mlops_project": "p", "mlops_job_key": "a"}}


def test_server_defaults_do_not_count_as_changes():
    remote = {**MINE, "format": "MULTI_TASK", "max_concurrent_runs": 1, "email_notifications": {},
              "run_as": {"user_name": "x"},
              "tasks": [{"task_key": "t", "run_if": "ALL_SUCCESS", "timeout_seconds": 0,
                         "notebook_task": {"notebook_path": "/x", "source": "WORKSPACE"}}]}
    assert normalize(remote, MINE) == normalize(MINE, MINE)
    assert plan_deploy("p", {"a": MINE}, [(1, remote)]).counts() == {"unchanged": 1}


def test_duplicates_keep_the_oldest_and_foreign_names_are_reported():
    plan = plan_deploy("p", {"a": MINE}, [(5, MINE), (3, MINE), (9, {"name": "a"})])
    assert [(a.op, a.job_id) for a in plan.actions] == [("delete", 5), ("unchanged", 3)]
    assert plan.foreign == [("a", 9)]


def test_diff_lines():
    old = {"tasks": [{"task_key": "t", "x": 1}], "tags": {"a": "1"}}
    new = {"tasks": [{"task_key": "t", "x": 2}], "schedule": {"c": "0"}}
    assert diff(old, new) == ['+ schedule: {"c": "0"}', '- tags: {"a": "1"}', "~ tasks.t.x: 1 -> 2"]
