"""The Data Factory pipelines `mlops adf export` generates, run on this machine (devops_mlops/testing/
adf_runner.py): the project's own notebooks in real kernels, real MLflow, Delta tables and git, and the
Teams alert POSTed to a loopback receiver. A production export; the notebooks get target=local.

The data generator's drift switch decides the outcome, as in tests/ops/test_monitor.py: no drift (in
range), a mild demand shift (fixed by the first try), counting noise (never fixed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest
import yaml

from devops_mlops.adf.files import export as adf_export
from devops_mlops.context import Context
from devops_mlops.kernel.pool import kernel_pool, preload_for
from devops_mlops.testing import project as sandbox
from devops_mlops.ops import tables as T
from devops_mlops.ops.infer import infer
from devops_mlops.ops.monitor import check_metrics
from devops_mlops.testing.adf_runner import LocalFactory
from devops_mlops.testing.webhook_receiver import WebhookReceiver

DRIFT_AT = 8
ALERTS = [{"kind": "file", "path": ".mlops/alerts.jsonl"}, {"kind": "teams", "url": "${TEAMS_WEBHOOK_URL}"}]


@pytest.fixture(scope="module")
def hook():
    with WebhookReceiver() as receiver:
        old = os.environ.get("TEAMS_WEBHOOK_URL")
        # the ${TEAMS_WEBHOOK_URL} of mlops.yaml: a secret, so the export leaves it to a pipeline parameter
        os.environ["TEAMS_WEBHOOK_URL"] = receiver.url_for("teams")
        yield receiver
        if old is None:
            del os.environ["TEAMS_WEBHOOK_URL"]
        else:
            os.environ["TEAMS_WEBHOOK_URL"] = old


@pytest.fixture(scope="module")
def base(tmp_path_factory, hook):
    folder = sandbox.make_project(tmp_path_factory.mktemp("base") / "proj", data={"drift": []}, alerts=ALERTS)
    sandbox.trained(folder, batches=2)  # v1 in production, batches 6 and 7 scored
    return folder


def project(base, tmp_path, drift, **monitoring):
    """A copy of the trained project with ``drift``, exported for production into adf/production."""
    folder = tmp_path / "proj"
    shutil.copytree(base, folder)
    cfg = yaml.safe_load((folder / "mlops.yaml").read_text())
    cfg["data"]["drift"] = drift
    cfg["monitoring"].update(monitoring)
    # the rehearsal runs production's pipelines on the local target: one model for both
    cfg["targets"]["production"].pop("model", None)
    (folder / "mlops.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    done = adf_export(Context.create(config_path=folder / "mlops.yaml", target="production"), folder / "adf")
    assert not done.warnings, done.warnings
    return Context.create(config_path=folder / "mlops.yaml")


def arrive(ctx, batch, *, check=True):
    """Batch ``batch`` arrives and is scored; the metrics of the window whose labels came with it are
    recorded (in process: the library call the check notebook makes)."""
    sandbox.ingest(ctx, [batch])
    infer(ctx, batches=[batch])
    if check:
        check_metrics(ctx)


def run_monitoring(ctx, hook):
    factory = LocalFactory(ctx.root / "adf", config_path=ctx.config.path, target="production",
                           notebook_params={"target": "local"}, max_retry_wait=0)
    started = time.monotonic()
    # every notebook still gets a fresh kernel (no reuse), one started ahead with the project's
    # libraries imported while the activity before it runs
    with kernel_pool(preload=preload_for(ctx.config), reuse=False, ahead=[factory.env]):
        run = factory.run("monitor_model", {"teams_webhook_url": hook.url_for("teams")})
    for a in run.all_activities():
        print(f"{a.pipeline}/{a.name}{'' if a.iteration is None else f'[{a.iteration}]'}: {a.status} {a.duration:.1f}s"
              + (f" {a.error['message'][:200]}" if a.error else ""))
    print(f"monitor_model: {run.status} in {time.monotonic() - started:.0f}s")
    return run


def ran(run, name):
    return [a for a in run.all_activities() if a.name == name and a.status != "Skipped"]


def production(ctx):
    return ctx.registry.holder(ctx.config.model.name, "production").version


@pytest.mark.slow
def test_in_range_no_retrain_pipeline(base, tmp_path, hook):
    ctx = project(base, tmp_path, [])
    arrive(ctx, DRIFT_AT, check=False)
    run = run_monitoring(ctx, hook)
    assert run.status == "Succeeded" and not run.children and not ran(run, "run_retrain")
    out = ran(run, "check")[0].output["runOutput"]
    assert out["status"] == "ok" and "violation" not in json.dumps(out).lower()
    assert sorted(ctx.tables.read(T.METRICS)["batch_id"].unique()) == [7]  # the check notebook recorded them
    assert production(ctx) == 1


@pytest.mark.slow
def test_demand_drift_retrained_registered_promoted_committed_rescored(base, tmp_path, hook):
    ctx = project(base, tmp_path, [{"from_batch": DRIFT_AT, "kind": "demand", "strength": 0.3}])
    for b in (DRIFT_AT, DRIFT_AT + 1):
        arrive(ctx, b)
    arrive(ctx, DRIFT_AT + 2, check=False)  # the window of batch 9 is the second violation: out of range
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ctx.root, capture_output=True, text=True).stdout.strip()
    run = run_monitoring(ctx, hook)
    assert run.status == "Succeeded", run.error
    assert ran(run, "check")[0].output["runOutput"]["status"] == "violation"
    assert len(ran(run, "retrain")) == 1 and ran(run, "recheck")[0].output["runOutput"]["status"] == "ok"
    registered = ran(run, "register")[0].output["runOutput"]["version"]
    assert registered == 2 and production(ctx) == 2
    assert not ran(run, "alert_teams") and not hook.posts
    # the committed retrain notebook and its provenance, with the skip-ci marker: on a local target
    # on the local branch mlops/retrain-<model>-v2, HEAD untouched (docs/commit.md)
    def git(*args):
        return subprocess.run(["git", *args], cwd=ctx.root, capture_output=True, text=True).stdout.strip()

    branch = f"mlops/retrain-{ctx.config.model.name}-v2"
    assert git("rev-parse", "HEAD") == head and ran(run, "commit")[0].output["runOutput"]["branch"] == branch
    log = git("log", "--format=%s", f"{head}..{branch}").splitlines()
    assert len(log) == 1 and "[skip ci]" in log[0]
    record = json.loads(git("show", f"{branch}:notebooks/retrain.provenance.json"))
    assert record["model"]["version"] == 2 and record["metrics"]["mape"]["candidate"] < record["metrics"]["mape"]["production"]
    # the batch waiting for labels is scored again by the new version
    assert set(ctx.tables.read(T.PREDICTIONS, where={"batch_id": DRIFT_AT + 2})["model_version"]) == {2}


@pytest.mark.slow
def test_unfixable_drift_stops_after_max_retrains_and_alerts_teams(base, tmp_path, hook):
    ctx = project(base, tmp_path, [{"from_batch": DRIFT_AT, "kind": "noise", "strength": 1.0}], max_retrains=2)
    for b in (DRIFT_AT, DRIFT_AT + 1):
        arrive(ctx, b)
    arrive(ctx, DRIFT_AT + 2, check=False)
    before = len(hook.posts)
    run = run_monitoring(ctx, hook)
    assert run.status == "Failed" and run.error["errorCode"] == "MLOPS_NEEDS_RETRAINING"
    assert "needs retraining" in run.error["message"]
    assert len(ran(run, "retrain")) == 2 and all(
        a.output["runOutput"]["status"] == "violation" for a in ran(run, "recheck"))
    assert [a.status for a in ran(run, "needs_retraining")] == ["Failed"] and not ran(run, "register")
    cards = hook.posts[before:]
    assert len(cards) == 1 and "2 retraining tries" in cards[0]["attachments"][0]["content"]["body"][1]["text"]
    assert production(ctx) == 1
