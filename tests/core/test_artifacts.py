"""Wiring shipped wheels into job settings, per kind of compute."""

from devops_mlops.core.artifacts import (
    ENV_KEY,
    LIBRARIES_PARAM,
    compute_of,
    library_path,
    remote_path,
    wire,
    workspace_api_path,
)

import pytest

pytestmark = pytest.mark.fast

WHL = "/Volumes/main/ml/art/0123456789abcdef/pkg-1.0-py3-none-any.whl"
PIN = "devops-mlops==0.1.0"


def test_paths_keep_a_valid_wheel_name_under_the_hash():
    assert remote_path("/Volumes/c/s/v/x/", "0123456789abcdef" * 4, "p-1-py3-none-any.whl") == \
        "/Volumes/c/s/v/x/0123456789abcdef/p-1-py3-none-any.whl"
    assert library_path("/Shared/art") == "/Workspace/Shared/art"
    assert library_path("/Workspace/Shared/art") == "/Workspace/Shared/art"
    assert workspace_api_path("/Workspace/Shared/art/a.whl") == "/Shared/art/a.whl"


def test_each_compute_gets_the_documented_shape():
    settings = {
        "job_clusters": [{"job_cluster_key": "c", "new_cluster": {}}],
        "environments": [{"environment_key": "e", "spec": {"client": "1", "dependencies": ["requests"]}}],
        "tasks": [
            {"task_key": "on_cluster", "job_cluster_key": "c", "notebook_task": {"notebook_path": "/a"},
             "libraries": [{"pypi": {"package": "x"}}]},
            {"task_key": "existing", "existing_cluster_id": "1", "notebook_task": {"notebook_path": "/b"}},
            {"task_key": "serverless_nb", "notebook_task": {"notebook_path": "/c", "base_parameters": {"k": "v"}}},
            {"task_key": "env_py", "environment_key": "e", "spark_python_task": {"python_file": "/d.py"}},
            {"task_key": "bare_wheel", "python_wheel_task": {"package_name": "p", "entry_point": "main"}},
            {"task_key": "cond", "condition_task": {"op": "EQUAL_TO", "left": "1", "right": "1"}},
        ],
    }
    counts = wire(settings, [WHL, PIN])
    tasks = {t["task_key"]: t for t in settings["tasks"]}
    assert tasks["on_cluster"]["libraries"] == [{"pypi": {"package": "x"}}, {"whl": WHL}, {"pypi": {"package": PIN}}]
    assert tasks["existing"]["libraries"] == [{"whl": WHL}, {"pypi": {"package": PIN}}]
    assert tasks["serverless_nb"]["notebook_task"]["base_parameters"] == {"k": "v", LIBRARIES_PARAM: f"{WHL} {PIN}"}
    assert "libraries" not in tasks["serverless_nb"] and "environment_key" not in tasks["serverless_nb"]
    envs = {e["environment_key"]: e for e in settings["environments"]}
    assert envs["e"]["spec"] == {"client": "1", "dependencies": ["requests", WHL, PIN]}
    assert tasks["bare_wheel"]["environment_key"] == ENV_KEY
    assert envs[ENV_KEY]["spec"]["dependencies"] == [WHL, PIN]
    assert tasks["cond"] == {"task_key": "cond", "condition_task": {"op": "EQUAL_TO", "left": "1", "right": "1"}}
    assert counts == {"cluster": 2, "serverless_notebook": 1, "environment": 2}


def test_wiring_twice_adds_nothing_and_no_requirements_change_nothing():
    settings = {"tasks": [{"task_key": "t", "existing_cluster_id": "1", "notebook_task": {"notebook_path": "/a"}}]}
    wire(settings, [WHL])
    wire(settings, [WHL])
    assert settings["tasks"][0]["libraries"] == [{"whl": WHL}]
    untouched = {"tasks": [{"task_key": "t", "notebook_task": {"notebook_path": "/a"}}]}
    assert wire(untouched, []) == {}
    assert untouched == {"tasks": [{"task_key": "t", "notebook_task": {"notebook_path": "/a"}}]}


def test_compute_kinds():
    assert compute_of({"notebook_task": {}}) == "serverless_notebook"
    assert compute_of({"notebook_task": {}, "new_cluster": {"num_workers": 1}}) == "cluster"
    assert compute_of({"spark_python_task": {}, "environment_key": "e"}) == "environment"
    assert compute_of({"run_job_task": {"job_id": 1}}) == "none"
