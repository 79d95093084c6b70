"""The runner against real kernels: one notebook of tests/corpus/runtime per runtime feature."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psutil
import pytest

from devops_mlops.kernel.runner import run_many, run_notebook

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "runtime"
BULK = [
    "widgets.py", "params.ipynb", "run_main.py", "run_cycle_a.py", "run_missing.py", "run_error_inside.py",
    "exit_early.py", "secrets.py", "secret_missing.py", "fs.py", "magics.py", "fail_cell.py", "fail_ipynb.ipynb",
    "syntax_error.py", "malformed.ipynb", "test_functions.py", "kernel_dies.py", "queries.sql",
    "display.py", "tv_consumer.py", "missing_file.py",
]
SECRET = "s3cr3t-value-xyz"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    shutil.copytree(CORPUS, root / "runtime")
    return root / "runtime"


@pytest.fixture(scope="module")
def bulk(corpus, tmp_path_factory):
    dbfs = tmp_path_factory.mktemp("dbfs")
    env = {"MLOPS_SECRET_KV_SCOPE__API_TOKEN": SECRET, "MLOPS_DBFS_ROOT": str(dbfs),
           "HOME": str(tmp_path_factory.mktemp("kernel-home"))}
    results = run_many(
        [corpus / name for name in BULK],
        jobs=2,
        params={"name": "from-param", "n": "7", "alpha": "0.25", "flag": "true"},
        job_params={"color": "green", "name": "from-job", "tags": "c"},
        timeout=120,
        env=env,
    )
    return {Path(r.path).name: r for r in results}


def test_results_come_back_in_input_order(bulk):
    assert list(bulk) == BULK


def test_widgets_param_then_job_then_default(bulk):
    r = bulk["widgets.py"]
    assert r.status == "passed", r.error
    values = json.loads(r.exit_value)
    assert values["name"] == "from-param"  # --param beats the job parameter
    assert values["color"] == "green"  # job parameter beats the default
    assert values["size"] == "M" and values["tags"] == "c"
    assert values["arg"] == "fallback" and values["name_via_get"] == "from-param"
    assert "gone" not in values


def test_papermill_parameters_cell_is_followed_by_typed_values(bulk):
    r = bulk["params.ipynb"]
    assert r.status == "passed", r.error
    assert json.loads(r.exit_value) == {"alpha": 0.25, "n": 7, "name": "from-param", "flag": True}


def test_run_inlines_recursively_with_args(bulk):
    r = bulk["run_main.py"]
    assert r.status == "passed", (r.error, r.traceback)
    assert r.exit_value == "42 hello from ipynb"


def test_run_cycle_is_a_clear_failure(bulk):
    r = bulk["run_cycle_a.py"]
    assert r.status == "failed"
    assert "cycle" in r.error and "run_cycle_a" in r.error and "run_cycle_b" in r.error
    assert r.cell == 1 and r.error_path.endswith("run_cycle_b.py")


def test_run_missing_target_names_the_cell(bulk):
    r = bulk["run_missing.py"]
    assert r.status == "failed"
    assert "not found" in r.error and "does_not_exist" in r.error
    assert (r.cell, r.line) == (2, 6)


def test_error_inside_run_target_points_at_that_file(bulk):
    r = bulk["run_error_inside.py"]
    assert r.status == "failed" and r.error == "ZeroDivisionError: division by zero"
    assert r.error_path.endswith("lib/divide.py") and r.line == 3
    assert "run_error_inside.py\", line 6" in r.traceback
    assert "shim" not in r.traceback and "interactiveshell" not in r.traceback


def test_exit_skips_the_rest_and_reports_the_value(bulk):
    r = bulk["exit_early.py"]
    assert r.status == "passed" and r.exit_value == "early"
    assert "before exit" in r.output


def test_secrets_from_env_never_printed(bulk):
    r = bulk["secrets.py"]
    assert r.status == "passed", r.error
    assert r.exit_value == f"{len(SECRET)} ['kv_scope']"
    assert SECRET not in r.output and "[REDACTED]" in r.output


def test_missing_secret_names_the_variable(bulk):
    r = bulk["secret_missing.py"]
    assert r.status == "failed"
    assert "MLOPS_SECRET_NOPE_SCOPE__NOPE_KEY" in r.error


def test_fs_on_local_paths(bulk):
    r = bulk["fs.py"]
    assert r.status == "passed", (r.error, r.traceback)
    assert r.exit_value == "a.txt,c.txt"


def test_magic_cells_are_skipped_and_reported(bulk):
    r = bulk["magics.py"]
    assert r.status == "passed", r.error
    assert [(s["cell"], s["language"]) for s in r.skipped_cells] == [(2, "pip"), (3, "sql"), (4, "sh"), (5, "scala")]
    assert r.skipped_cells[1]["line"] == 11


def test_failure_has_cell_original_line_and_user_traceback(bulk):
    r = bulk["fail_cell.py"]
    assert r.status == "failed"
    assert r.error == "ZeroDivisionError: division by zero"
    assert (r.cell, r.line) == (2, 8)  # inside ratio(), defined in cell 2
    assert 'fail_cell.py", line 14, in <module> (cell 3)' in r.traceback
    assert 'fail_cell.py", line 8, in ratio (cell 2)' in r.traceback
    assert "runner" not in r.traceback and "ipykernel" not in r.traceback


def test_ipynb_failure_line_is_relative_to_the_cell(bulk):
    r = bulk["fail_ipynb.ipynb"]
    assert r.status == "failed" and r.error.startswith("KeyError")
    assert (r.cell, r.line) == (2, 2)


def test_syntax_error_line(bulk):
    r = bulk["syntax_error.py"]
    assert r.status == "failed" and r.error.startswith("SyntaxError")
    assert (r.cell, r.line) == (2, 7)


def test_unreadable_notebooks_are_errors(bulk):
    assert bulk["malformed.ipynb"].status == "error"
    assert "invalid JSON" in bulk["malformed.ipynb"].error
    assert bulk["missing_file.py"].status == "error"


def test_test_functions_each_get_a_result(bulk):
    r = bulk["test_functions.py"]
    assert r.status == "failed" and r.failed_in_tests
    by_name = {t.name: t for t in r.tests}
    assert set(by_name) == {"test_addition", "test_widget_default", "test_fails"}
    assert by_name["test_addition"].status == "passed" and by_name["test_widget_default"].status == "passed"
    failed = by_name["test_fails"]
    assert failed.status == "failed" and "arithmetic is broken" in failed.error
    assert failed.line == 15 and failed.cell == 2


# spark_needed.py: tests/runtime/test_spark_cells.py


def test_dead_kernel_fails(bulk):
    r = bulk["kernel_dies.py"]
    assert r.status == "failed" and "kernel died" in r.error and r.cell == 1


def test_sql_notebook_cells_are_all_skipped(bulk):
    r = bulk["queries.sql"]
    assert r.status == "passed" and len(r.skipped_cells) == 2


def test_display_and_lazy_spark(bulk):
    r = bulk["display.py"]
    assert r.status == "passed", r.error
    assert "spark is _LazySpark" in r.output


def test_task_values_outside_a_job_use_debug_values(bulk):
    r = bulk["tv_consumer.py"]
    assert r.status == "passed", r.error
    assert json.loads(r.exit_value) == {"rows": -1, "model": {"name": "debug"}, "missing": "dbg"}


def test_no_kernel_left_behind(bulk):
    for r in bulk.values():
        if r.kernel_pid:
            assert not psutil.pid_exists(r.kernel_pid) or psutil.Process(r.kernel_pid).status() == psutil.STATUS_ZOMBIE


def test_task_values_across_tasks_of_a_job(corpus, tmp_path):
    shared = tmp_path / "task_values.json"
    produced = run_notebook(corpus / "tv_producer.py", task_key="produce", task_values_file=shared)
    assert produced.status == "passed", produced.error
    assert produced.task_values == {"rows": 128, "model": {"name": "m", "version": 3}}
    consumed = run_notebook(corpus / "tv_consumer.py", task_key="consume", task_values_file=shared)
    assert consumed.status == "passed", consumed.error
    assert json.loads(consumed.exit_value) == {"rows": 128, "model": {"name": "m", "version": 3}, "missing": "dflt"}
    assert json.loads(shared.read_text()) == {"produce": {"rows": 128, "model": {"name": "m", "version": 3}}}


def test_notebook_run_returns_the_child_exit_value(corpus):
    r = run_notebook(corpus / "notebook_run.py", timeout=120)
    assert r.status == "passed", (r.error, r.traceback)
    assert r.exit_value == "42"


def test_timeout_kills_the_kernel_and_its_children(corpus, tmp_path):
    pidfile = tmp_path / "pids"
    r = run_notebook(corpus / "sleeper.py", params={"pidfile": str(pidfile)}, timeout=4)
    assert r.status == "timeout"
    assert "timed out after 4s" in r.error and r.cell == 2
    kernel, child = (int(p) for p in pidfile.read_text().split())
    assert kernel == r.kernel_pid
    for pid in (kernel, child):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_cwd_is_the_notebook_folder(tmp_path):
    nb = tmp_path / "sub" / "where.py"
    nb.parent.mkdir()
    nb.write_text("# Databricks notebook source\nimport os\ndbutils.notebook.exit(os.getcwd())\n")
    assert run_notebook(nb).exit_value == str(nb.parent)
    other = tmp_path / "other"
    other.mkdir()
    assert run_notebook(nb, cwd=other).exit_value == str(other)


def test_an_isolated_kernel_does_not_inherit_this_process_mlflow_state(tmp_path, monkeypatch):
    """mlflow.set_experiment here exports MLFLOW_EXPERIMENT_ID; a fresh cluster's kernel must not see it
    (it names an experiment of another tracking store), while what the caller passes still arrives."""
    import sys

    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", "17")
    monkeypatch.setenv("MLFLOW_RUN_ID", "abc")
    nb = tmp_path / "env.py"
    nb.write_text("# Databricks notebook source\nimport os, json\n"
                  "dbutils.notebook.exit(json.dumps({k: os.environ.get(k) for k in "
                  "('MLFLOW_EXPERIMENT_ID', 'MLFLOW_RUN_ID', 'MLFLOW_TRACKING_URI')}))\n")
    isolated = run_notebook(nb, python=sys.executable, env={"MLFLOW_TRACKING_URI": "sqlite:///x.db"}, timeout=120)
    assert isolated.status == "passed", (isolated.error, isolated.traceback)
    assert json.loads(isolated.exit_value) == {"MLFLOW_EXPERIMENT_ID": None, "MLFLOW_RUN_ID": None,
                                               "MLFLOW_TRACKING_URI": "sqlite:///x.db"}
    local = run_notebook(nb, timeout=120)  # a local run is this machine: its environment carries over
    assert json.loads(local.exit_value)["MLFLOW_EXPERIMENT_ID"] == "17"
