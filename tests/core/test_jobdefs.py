from pathlib import Path

import pytest

from devops_mlops.config import load_config
from devops_mlops.core.jobdefs import remote_notebook_path
from devops_mlops.errors import ConfigError
from devops_mlops.files.jobs import load_job_definitions

pytestmark = pytest.mark.fast

FIXTURES = Path(__file__).parent.parent / "fixtures" / "jobs"

CONFIG = """\
project: demo
model: {name: m}
jobs: jobs
variables: {prefix: "x-", rows: 10}
targets:
  local: {default: true}
  dev:
    backend: databricks
    host: http://127.0.0.1:1
    workspace_dir: /Shared/demo
    variables: {prefix: "dev-"}
    compute: {new_cluster: {spark_version: "15.4.x-scala2.12", num_workers: 1}}
  prod:
    backend: databricks
    repo_path: /Repos/ci/demo
    branch: main
    compute: {existing_cluster_id: "0101-abc"}
"""

NB = "# Databricks notebook source\nprint(1)\n"


def make_project(tmp_path: Path, jobs_text: str | None = None) -> Path:
    (tmp_path / "mlops.yaml").write_text(CONFIG)
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "prep.py").write_text(NB)
    (tmp_path / "notebooks" / "train.py").write_text(NB)
    (tmp_path / "jobs").mkdir()
    text = jobs_text if jobs_text is not None else (FIXTURES / "lifecycle.yml").read_text()
    (tmp_path / "jobs" / "a.yml").write_text(text)
    return tmp_path


def test_loads_and_substitutes_per_target(tmp_path):
    cfg = load_config(make_project(tmp_path) / "mlops.yaml")
    jobs = load_job_definitions(cfg, cfg.target("dev"))
    job = jobs["train"]
    s = job.settings
    assert s["name"] == "dev-train-dev"
    assert s["parameters"] == [{"name": "env", "default": "dev"}]
    assert s["tags"] == {"team": "data", "mlops_project": "demo", "mlops_job_key": "train"}
    assert s["tasks"][0]["notebook_task"] == {"notebook_path": "/Shared/demo/prep", "base_parameters": {"rows": "10"}}
    assert s["tasks"][1]["notebook_task"]["notebook_path"] == "/Shared/demo/train"
    assert s["tasks"][0]["job_cluster_key"] == "mlops_cluster"
    assert s["job_clusters"][0]["job_cluster_key"] == "mlops_cluster"
    assert s["schedule"]["timezone_id"] == "UTC"
    assert job.task_order() == ["prep", "train"]
    assert job.notebooks["prep"] == tmp_path / "notebooks" / "prep.py"


def test_git_folder_and_local_paths(tmp_path):
    cfg = load_config(make_project(tmp_path) / "mlops.yaml")
    prod = load_job_definitions(cfg, cfg.target("prod"))["train"].settings
    assert prod["tasks"][0]["notebook_task"]["notebook_path"] == "/Repos/ci/demo/notebooks/prep"
    assert prod["tasks"][0]["existing_cluster_id"] == "0101-abc"
    assert prod["name"] == "x-train-prod"
    local = load_job_definitions(cfg, cfg.target("local"))["train"].settings
    assert local["tasks"][1]["notebook_task"]["notebook_path"] == "/train"
    assert "job_clusters" not in local
    assert remote_notebook_path(cfg, cfg.target("dev"), "notebooks/sub/x.ipynb", tracked=None) == "/Shared/demo/sub/x"


def test_no_jobs_folder_is_empty(tmp_path):
    make_project(tmp_path)
    (tmp_path / "jobs" / "a.yml").unlink()
    cfg = load_config(tmp_path / "mlops.yaml")
    assert load_job_definitions(cfg, cfg.target("dev")) == {}


BAD = [
    ("resources:\n  jobs:\n    j:\n      tasks:\n        - task_key: a\n          notebook_task: {notebook_path: notebooks/nope}\n",
     "resources.jobs.j.tasks[0].notebook_task.notebook_path", 6),
    ("resources:\n  jobs:\n    j:\n      name: ${var.missing}\n      tasks: []\n", "undefined variable", 4),
    ("resources:\n  jobs:\n    j:\n      colour: red\n      tasks: []\n", "resources.jobs.j.colour: unknown key", 4),
    ("resources:\n  jobs:\n    j:\n      tasks:\n        - task_key: a\n          notebook_task: {notebook_path: notebooks/prep}\n"
     "          depends_on: [{task_key: b}]\n", "depends on unknown task 'b'", 7),
    ("resources:\n  jobs:\n    j:\n      tasks:\n        - task_key: a\n          notebook_task: {notebook_path: notebooks/prep}\n"
     "          depends_on: [{task_key: b}]\n        - task_key: b\n          notebook_task: {notebook_path: notebooks/prep}\n"
     "          depends_on: [{task_key: a}]\n", "cycle", 5),
    ("resources:\n  jobs:\n    j:\n      tasks:\n        - task_key: a\n          notebook_task: {notebook_path: notebooks/prep}\n"
     "        - task_key: a\n          notebook_task: {notebook_path: notebooks/prep}\n", "duplicate task_key", 7),
    ("resources:\n  jobs:\n    j:\n      max_concurrent_runs: many\n      tasks: []\n", "expected an integer", 4),
    ("resources:\n  pipelines: [a]\n", "resources.pipelines: expected a mapping", 2),
    ("colour: red\nresources: {}\n", "colour: unknown top-level key", 1),
    ("resources:\n  jobs:\n    j:\n      permissions: [{level: CAN_FLY, user_name: a@b.c}]\n      tasks: []\n",
     "resources.jobs.j.permissions[0].level: level 'CAN_FLY' is not a job permission", 4),
    ("resources:\n  jobs:\n    j:\n      permissions:\n        - level: CAN_VIEW\n          user_name: a@b.c\n"
     "          group_name: users\n      tasks: []\n", "name exactly one of user_name", 5),
    ("resources:\n  jobs:\n    j:\n      tags: {mlops_job_key: x}\n      tasks:\n        - task_key: a\n"
     "          notebook_task: {notebook_path: notebooks/prep}\n", "set by mlops", 4),
    ("resources:\n  jobs:\n    j:\n      tasks:\n        - task_key: a\n", "exactly one of", 5),
    ("resources:\n  jobs:\n    j:\n      tasks:\n        - task_key: a\n          notebook_task: {notebook_path: /abs/x}\n",
     "relative to this file or to the repository root", 6),
]


@pytest.mark.parametrize("text,needle,line", BAD)
def test_invalid_definitions_name_file_key_and_line(tmp_path, text, needle, line):
    cfg = load_config(make_project(tmp_path, text) / "mlops.yaml")
    with pytest.raises(ConfigError) as exc:
        load_job_definitions(cfg, cfg.target("dev"))
    err = exc.value
    assert needle in err.message
    assert err.path.endswith("a.yml")
    assert err.line == line
    assert err.exit_code == 2


def test_malformed_yaml_is_input_error(tmp_path):
    from devops_mlops.errors import InputError

    cfg = load_config(make_project(tmp_path, "resources: [\n") / "mlops.yaml")
    with pytest.raises(InputError) as exc:
        load_job_definitions(cfg, cfg.target("dev"))
    assert exc.value.exit_code == 2
