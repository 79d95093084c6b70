"""mlops run: the Databricks adapter + emulator, and the local backend with real kernels."""

import pytest

from devops_mlops.config import load_config
from devops_mlops.context import Context
from devops_mlops.errors import CheckFailed, UsageError
from devops_mlops.ops.deploy import deploy
from devops_mlops.ops.run import check, parse_params, run_job
from devops_mlops.ops.sync import sync
from devops_mlops.testing.databricks_emulator import DatabricksEmulator, sample_project


@pytest.fixture
def emu(monkeypatch):
    with DatabricksEmulator(token="dapi-run", run_steps=1) as e:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-run")
        yield e


def ctx_for(tmp_path, emu, target="dev", **kw):
    cfg = load_config(sample_project(tmp_path, host=emu.url if emu else None, **kw))
    return Context(cfg, cfg.target(target))


def test_run_waits_and_reports_failure_with_output(tmp_path, emu, capsys):
    ctx = ctx_for(tmp_path, emu)
    deploy(ctx)
    emu.set_outcome("second", error="ValueError: bad rows", error_trace="Traceback\n  ValueError: bad rows",
                    output="partial")
    result = run_job(ctx, "job0", params={"env": "x"}, poll_interval=0.01)
    assert result.run.result_state == "FAILED"
    bad = result.failed_tasks[0]
    assert (bad.task_key, bad.error, bad.notebook_output) == ("second", "ValueError: bad rows", "partial")
    assert emu.runs[result.run_id].job_parameters == {"env": "x"}
    assert "second: FAILED" in capsys.readouterr().err
    with pytest.raises(CheckFailed) as exc:
        check(result)
    assert "second" in exc.value.message and "bad rows" in exc.value.message


def test_run_success_no_wait_and_unknown_job(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu)
    deploy(ctx)
    ok = run_job(ctx, "job0", poll_interval=0.01)
    assert ok.ok
    check(ok)
    started = run_job(ctx, "job0", wait=False)
    assert not started.waited and started.run.state != "TERMINATED"
    with pytest.raises(UsageError):
        run_job(ctx, "nope")
    with pytest.raises(UsageError):
        parse_params(["novalue"])


def test_run_timeout_cancels(tmp_path, monkeypatch):
    with DatabricksEmulator(token="dapi-run", run_steps=0) as emu:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-run")
        emu.run_steps = 1
        ctx = ctx_for(tmp_path, emu)
        deploy(ctx)
        emu.run_steps = 0  # never advances on its own: runs stay pending
        emu._advance = lambda run, steps: None
        result = run_job(ctx, "job0", timeout=0, poll_interval=0.01)
        assert result.timed_out
        assert emu.runs[result.run_id].canceled
        with pytest.raises(CheckFailed):
            check(result)


def test_local_run_in_kernels_with_parameters_and_task_values(tmp_path):
    ctx = ctx_for(tmp_path, None, target="local", notebooks=2)
    nb = tmp_path / "notebooks"
    (nb / "nb0.py").write_text(
        "# Databricks notebook source\ndbutils.widgets.text('env', 'none')\n"
        "dbutils.jobs.taskValues.set('rows', 42)\ndbutils.notebook.exit(dbutils.widgets.get('env'))\n")
    (nb / "nb1.py").write_text(
        "# Databricks notebook source\nrows = dbutils.jobs.taskValues.get('first', 'rows', debugValue=0)\n"
        "assert rows == 42, rows\ndbutils.widgets.text('n', '')\ndbutils.notebook.exit(f\"{rows}-{dbutils.widgets.get('n')}\")\n")
    sync(ctx)
    deploy(ctx)
    result = run_job(ctx, "job0", params={"env": "local-x"})
    assert result.ok, result.to_json()
    assert [t.notebook_output for t in result.run.tasks] == ["local-x", "42-0"]


def test_unknown_job_lists_the_defined_ones_and_runs_nothing(tmp_path, emu):
    from devops_mlops.ops.run import resolve_jobs

    ctx = ctx_for(tmp_path, emu, jobs=2)
    deploy(ctx)
    # concurrent creates get their ids in arrival order, so read them back by tag
    ids = {s["tags"]["mlops_job_key"]: jid for jid, s in emu.jobs.items()}
    assert sorted(ids.values()) == [1, 2]
    assert resolve_jobs(ctx, ["job1", "job0"]) == {"job1": ids["job1"], "job0": ids["job0"]}
    with pytest.raises(UsageError) as exc:
        resolve_jobs(ctx, ["job0", "typo"])
    assert "'typo'" in exc.value.message and "job0, job1" in exc.value.message
    assert not emu.runs
