"""`mlops monitor`: every branch of the bounded retrain loop, with real data, training, MLflow, Delta and git.

The deterministic seam is the data generator's drift switch (``data.drift``): a mild demand
shift is fixed by the first try, a strong one only by the third (the freshest window), a
counting-noise regime by none. Tries run in process (the project's ``entry_points.retrain``,
the same function the retrain notebook calls).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from devops_mlops.context import Context
from devops_mlops.testing import project as sandbox
from devops_mlops.ops import tables as T
from devops_mlops.ops.infer import infer
from devops_mlops.ops.monitor import monitor
from devops_mlops.ops.retrain import InProcessRetrainer

DRIFT_AT = 8


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = sandbox.make_project(tmp_path_factory.mktemp("base") / "proj", data={"drift": []})
    sandbox.trained(folder, batches=2)  # v1 in production, batches 6 and 7 scored
    return folder


def project(base, tmp_path, drift):
    folder = tmp_path / "proj"
    shutil.copytree(base, folder)
    cfg = yaml.safe_load((folder / "mlops.yaml").read_text())
    cfg["data"]["drift"] = drift
    (folder / "mlops.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return Context.create(config_path=folder / "mlops.yaml")


def advance(ctx, batch, **kw):
    sandbox.ingest(ctx, [batch])
    infer(ctx, batches=[batch])
    return monitor(ctx, retrainer=InProcessRetrainer(), **kw)


def until_loop(ctx, **kw):
    """Batches 8, 9 (the drift shows in one window: in range by the rule), then 10 (two: the loop)."""
    assert advance(ctx, DRIFT_AT).outcome == "in-range"
    second = advance(ctx, DRIFT_AT + 1)
    assert second.outcome == "in-range" and any(r["status"] == "violation" for r in second.check.rows)
    return advance(ctx, DRIFT_AT + 2, **kw)


def events(ctx):
    return ctx.tables.read(T.RETRAIN_ATTEMPTS).sort_values("seq")


def production(ctx):
    return ctx.registry.holder(ctx.config.model.name, "production").version


def test_in_range_records_metrics_and_does_nothing_else(base, tmp_path):
    ctx = project(base, tmp_path, [])
    for b in (8, 9, 10):
        result = advance(ctx, b)
        assert result.outcome == "in-range" and result.exit_code == 0 and not result.tries
    metrics = ctx.tables.read(T.METRICS)
    assert set(metrics["metric"]) == {"mape", "r2"} and set(metrics["status"]) == {"ok"}
    assert sorted(metrics["batch_id"].unique()) == [7, 8, 9]
    assert {
        "evaluated_at",
        "model_name",
        "model_version",
        "window_start",
        "window_end",
        "value",
        "threshold_min",
        "threshold_max",
        "run_id",
    } <= set(metrics.columns)
    assert not ctx.tables.exists(T.RETRAIN_ATTEMPTS) and production(ctx) == 1
    advance(ctx, 10)  # the same window again: its rows are replaced, not duplicated
    assert len(ctx.tables.read(T.METRICS, where={"batch_id": 9})) == 2


def with_bare_remote(ctx, tmp_path):
    """Give the project an `origin` (a real bare repository) holding its HEAD, like a fresh clone."""
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    for args in (["remote", "add", "origin", str(bare)], ["push", "-q", "origin", "HEAD:refs/heads/main"]):
        subprocess.run(["git", *args], cwd=ctx.root, check=True)
    return bare


def git_out(root, *args):
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("push", [None, True], ids=["local-stays-local", "--push"])
def test_fixed_on_try_one(base, tmp_path, push):
    ctx = project(base, tmp_path, [{"from_batch": DRIFT_AT, "kind": "demand", "strength": 0.3}])
    bare = with_bare_remote(ctx, tmp_path)
    ctx.push = push
    root = ctx.root
    head, remote_refs = git_out(root, "rev-parse", "HEAD"), git_out(root, "ls-remote", str(bare))
    status = git_out(root, "status", "--porcelain")  # the drift written into mlops.yaml
    result = until_loop(ctx)
    assert result.outcome == "retrained" and result.exit_code == 0
    assert [t["outcome"] for t in result.tries] == ["passed"]
    assert production(ctx) == result.promoted_version == 2
    preds = ctx.tables.read(T.PREDICTIONS, where={"batch_id": 10})
    assert set(preds["model_version"]) == {2} and result.scored_batches == [10]
    assert result.commit and not result.commit.startswith("failed")
    if push:
        assert result.pushed and git_out(bare, "rev-parse", "main") == result.commit == git_out(root, "rev-parse", "HEAD")
        commit = "HEAD"
    else:  # a local target: the commit is on a local branch; HEAD, working tree and the remote stay
        branch = f"mlops/retrain-{ctx.config.model.name}-v2"
        assert git_out(root, "ls-remote", str(bare)) == remote_refs and git_out(root, "rev-parse", "HEAD") == head
        assert result.commit_branch == branch and not result.pushed and git_out(root, "rev-parse", branch) == result.commit
        assert f"committed {result.commit[:12]} on {branch}, not pushed" in "\n".join(result.lines())
        assert result.to_dict()["commit_branch"] == branch and result.to_dict()["pushed"] is False
        assert not (root / "notebooks/retrain.provenance.json").exists()
        assert git_out(root, "status", "--porcelain") == status
        commit = branch
    assert "[skip ci]" in git_out(root, "log", "-1", "--format=%B", commit)
    files = git_out(root, "show", "--name-only", "--format=", commit).split()
    assert "notebooks/retrain.provenance.json" in files
    record = json.loads(git_out(root, "show", f"{commit}:notebooks/retrain.provenance.json"))
    assert record["model"]["version"] == 2 and "mape" in record["metrics"]
    # the next window is scored by v2 and in range: no second loop
    assert advance(ctx, 11).outcome == "in-range"


def test_fixed_on_try_three(base, tmp_path):
    ctx = project(base, tmp_path, [{"from_batch": DRIFT_AT, "kind": "demand", "strength": 1.0}])
    result = until_loop(ctx)
    assert [t["outcome"] for t in result.tries] == ["gate-failed", "gate-failed", "passed"]
    assert [t["train_batches"] for t in result.tries] == ["5,6,7,8", "7,8", "8"]
    assert result.outcome == "retrained" and production(ctx) == result.promoted_version
    ev = events(ctx)
    assert list(ev["event"]) == ["started", "finished"] * 3 + ["promoted", "committed", "scored"]


def test_never_fixed_alerts_once_and_fails(base, tmp_path, monkeypatch, capsys):
    ctx = project(base, tmp_path, [{"from_batch": DRIFT_AT, "kind": "noise", "strength": 1.0}])
    result = until_loop(ctx)
    assert result.outcome == "alerted" and result.exit_code == 1 and len(result.tries) == 3
    assert all(t["outcome"] in ("gate-failed", "not-improved") for t in result.tries)
    assert production(ctx) == 1
    lines = (ctx.state_dir / "alerts.jsonl").read_text().splitlines()
    assert len(lines) == 1 and "needs retraining" in lines[0]
    # run again on the same window: no fourth try, no second alert; inside a pipeline with warn_only
    monkeypatch.setenv("TF_BUILD", "True")
    ctx.config.monitoring.warn_only = True
    capsys.readouterr()
    again = monitor(ctx, retrainer=InProcessRetrainer())
    out = capsys.readouterr().out
    assert again.outcome == "alerted" and len(again.tries) == 3 and again.exit_code == 0
    assert len((ctx.state_dir / "alerts.jsonl").read_text().splitlines()) == 1
    assert "##vso[task.setvariable variable=retrainNeeded;isOutput=true]true" in out
    assert "##vso[task.complete result=SucceededWithIssues]" in out


class Crash(Exception):
    pass


def crash_at(event, attempt=None):
    def hook(row):
        if row["event"] == event and (attempt is None or row["attempt"] == attempt):
            raise Crash(event)

    return hook


def test_crash_after_promotion_resumes_without_promoting_twice(base, tmp_path):
    ctx = project(base, tmp_path, [{"from_batch": DRIFT_AT, "kind": "demand", "strength": 1.0}])
    with pytest.raises(Crash):
        until_loop(ctx, on_event=crash_at("promoted"))
    assert production(ctx) == 4
    resumed = monitor(ctx, retrainer=InProcessRetrainer())
    assert resumed.resumed and resumed.outcome == "retrained" and len(resumed.tries) == 3
    ev = events(ctx)
    assert (ev["event"] == "promoted").sum() == 1 and (ev["event"] == "committed").sum() == 1
    assert (ev["event"] == "started").sum() == 3
    promotions = ctx.tables.read("promotions")
    assert (promotions["version"].astype(int) == 4).sum() == 1


def test_crash_mid_try_runs_it_again_then_counts_it(base, tmp_path):
    ctx = project(base, tmp_path, [{"from_batch": DRIFT_AT, "kind": "noise", "strength": 1.0}])
    with pytest.raises(Crash):
        until_loop(ctx, on_event=crash_at("started", attempt=2))
    with pytest.raises(Crash):  # the same try crashes its run again
        monitor(ctx, retrainer=InProcessRetrainer(), on_event=crash_at("started", attempt=2))
    resumed = monitor(ctx, retrainer=InProcessRetrainer())
    assert resumed.resumed and resumed.outcome == "alerted"
    assert [t["outcome"] for t in resumed.tries][1] == "interrupted" and len(resumed.tries) == 3
    assert (events(ctx)["event"] == "started").sum() == 4


def test_dry_run_plans_the_loop_and_says_where_the_commit_would_go(base, tmp_path):
    ctx = project(base, tmp_path, [{"from_batch": DRIFT_AT, "kind": "demand", "strength": 0.3}])
    advance(ctx, DRIFT_AT)
    advance(ctx, DRIFT_AT + 1)
    sandbox.ingest(ctx, [DRIFT_AT + 2])
    infer(ctx, batches=[DRIFT_AT + 2])
    ctx.dry_run = True
    result = monitor(ctx, retrainer=InProcessRetrainer())
    assert result.outcome == "planned" and not result.tries
    lines = "\n".join(result.lines())
    assert "kept on a local branch, not pushed (target local has backend: local)" in lines
    ctx.push = True
    assert "would be pushed (--push)" in "\n".join(monitor(ctx, retrainer=InProcessRetrainer()).lines())
    assert not ctx.tables.exists(T.RETRAIN_ATTEMPTS)
