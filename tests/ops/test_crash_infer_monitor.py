"""`mlops infer` and `mlops monitor` killed with SIGKILL at named points, then run again, converge.

Local backend, real Delta tables, real MLflow (sqlite), real git, real training. Each scenario
copies one prepared project, runs the CLI in a subprocess with ``MLOPS_TEST_KILL_AT`` (and checks
it died of SIGKILL), runs the same command again, and compares what it left with what an
uninterrupted run leaves on another copy: predictions (rows, keys, model versions), metrics,
the retrain loop's state and journal, promotions, the registry, the retrain commit, the alerts.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devops_mlops.context import Context
from devops_mlops.core import retrain_loop
from devops_mlops.ops.infer import infer
from devops_mlops.ops.monitor import monitor
from devops_mlops.ops.retrain import InProcessRetrainer
from devops_mlops.ops import tables as T
from devops_mlops.testing import project as sandbox

DRIFT_AT = 8
DRIFTS = {
    "fixed-on-try-three": [{"from_batch": DRIFT_AT, "kind": "demand", "strength": 1.0}],
    "never-fixed": [{"from_batch": DRIFT_AT, "kind": "noise", "strength": 1.0}],
}


def mlops(root: Path, *args: str, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLOPS_TEST_KILL_AT"}
    if kill_at:
        env["MLOPS_TEST_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-m", "devops_mlops", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = sandbox.make_project(tmp_path_factory.mktemp("base") / "proj", data={"drift": []})
    sandbox.trained(folder, batches=2)  # v1 in production, batches 6 and 7 scored
    return folder


def copy(src: Path, dst: Path, drift=None) -> Path:
    shutil.copytree(src, dst)
    if drift is not None:
        cfg = yaml.safe_load((dst / "mlops.yaml").read_text())
        cfg["data"]["drift"] = drift
        (dst / "mlops.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dst


@pytest.fixture(scope="module")
def prepared(base, tmp_path_factory):
    """Per drift: batches 8 and 9 monitored (in range), batch 10 scored and waiting for `mlops monitor`
    (which starts the loop); and, for infer, batches 8-10 extracted but not scored."""
    out = {}
    for name, drift in DRIFTS.items():
        folder = copy(base, tmp_path_factory.mktemp(name) / "proj", drift)
        ctx = Context.create(config_path=folder / "mlops.yaml")
        for b in (DRIFT_AT, DRIFT_AT + 1, DRIFT_AT + 2):
            sandbox.ingest(ctx, [b])
            infer(ctx, batches=[b])
            if b < DRIFT_AT + 2:
                assert monitor(ctx, retrainer=InProcessRetrainer()).outcome == "in-range"
        out[name] = folder
    folder = copy(base, tmp_path_factory.mktemp("infer") / "proj")
    sandbox.ingest(Context.create(config_path=folder / "mlops.yaml"), [8, 9, 10])
    out["infer"] = folder
    return out


def state(root: Path) -> dict:
    """What a run leaves, without what differs between two identical runs (times, run ids)."""
    ctx = Context.create(config_path=root / "mlops.yaml")
    tables = ctx.tables
    preds = tables.read(T.PREDICTIONS)
    keys = list(ctx.config.model.keys) + ["batch_id"]
    assert not preds.duplicated(keys).any(), "duplicate prediction rows"
    doc = {
        "predictions": sorted(map(tuple, preds[keys + ["model_version"]].astype(str).values.tolist())),
        "metrics": sorted(
            (int(r["batch_id"]), r["metric"], int(r["model_version"]), round(float(r["value"]), 9), r["status"])
            for r in tables.read(T.METRICS).to_dict("records")
        ),
        "promotions": sorted(
            (r["slot"], int(r["version"]), r["action"]) for r in tables.read("promotions").to_dict("records")
        ),
        "production": ctx.registry.holder(ctx.config.model.name, "production").version,
        "versions": [v.version for v in ctx.registry.get_model(ctx.config.model.name, with_metrics=False)],
    }
    if tables.exists(T.RETRAIN_ATTEMPTS):
        events = tables.read(T.RETRAIN_ATTEMPTS).to_dict("records")
        loops = sorted({e["loop_id"] for e in events})
        folded = [retrain_loop.fold(lid, events) for lid in loops]
        doc["loops"] = [
            ([(t.attempt, t.outcome, t.version, t.train_batches, json.dumps(t.metrics, sort_keys=True)) for t in s.tries],
             s.promoted, s.scored, s.alerted, s.committed is not None)
            for s in folded
        ]
        # the journal: every event once (a try started again after a kill has a second `started` row)
        doc["journal"] = sorted({(e["event"], int(e["attempt"]), e["outcome"], int(e["version"])) for e in events})
        doc["journal_rows_but_restarts"] = sum(1 for e in events if not str(e["detail"]).startswith("again:"))
    # a local target keeps the retrain commit on its own branch (never on HEAD, never pushed)
    log = subprocess.run(["git", "log", "--all", "--format=%s"], cwd=root, capture_output=True, text=True).stdout
    doc["retrain_commits"] = sum("[skip ci]" in line for line in log.splitlines())
    doc["head_commits"] = len(subprocess.run(["git", "rev-list", "HEAD"], cwd=root, capture_output=True,
                                             text=True).stdout.split())
    alerts = ctx.state_dir / "alerts.jsonl"
    doc["alerts"] = len(alerts.read_text().splitlines()) if alerts.exists() else 0
    return doc


@pytest.fixture(scope="module")
def reference(prepared, tmp_path_factory):
    """What uninterrupted runs leave."""
    out = {}
    for name, args in (("fixed-on-try-three", MONITOR), ("never-fixed", MONITOR), ("infer", ["infer"])):
        folder = copy(prepared[name], tmp_path_factory.mktemp(f"ref-{name}") / "proj")
        done = mlops(folder, *args)
        assert done.returncode in (0, 1), done.stderr
        out[name] = state(folder)
    return out


MONITOR = ["monitor", "--retrainer", "in-process"]


def killed_then_rerun(root: Path, args: list[str], point: str) -> subprocess.CompletedProcess:
    died = mlops(root, *args, kill_at=point)
    assert died.returncode == -signal.SIGKILL, f"{point} was not reached: {died.returncode} {died.stderr[-2000:]}"
    again = mlops(root, *args)
    assert again.returncode in (0, 1) and "internal error" not in again.stderr, again.stderr[-2000:]
    return again


INFER_POINTS = ["infer.loaded", "infer.write:2", "infer.batch:1", "infer.batch:2"]


@pytest.mark.parametrize("point", INFER_POINTS)
def test_infer_killed_converges(prepared, reference, tmp_path, point):
    root = copy(prepared["infer"], tmp_path / "proj")
    killed_then_rerun(root, ["infer"], point)
    assert state(root) == reference["infer"]


FIXED_POINTS = ["monitor.metrics", "monitor.started:2", "monitor.registered:1", "promote.assigned",
                "monitor.promoted", "monitor.committed", "monitor.scored"]


ALERT_POINTS = ["monitor.trained:3", "monitor.alerted"]
CASES = [("fixed-on-try-three", p, 0) for p in FIXED_POINTS] + [("never-fixed", p, 1) for p in ALERT_POINTS]


@pytest.mark.parametrize(("drift", "point", "exit_code"), CASES)
def test_monitor_killed_converges(prepared, reference, tmp_path, drift, point, exit_code):
    """Fixed on try three: killed while retraining, promoting, committing, scoring. Never fixed:
    killed before the last try was recorded, and after the alert went out but before it was recorded."""
    root = copy(prepared[drift], tmp_path / "proj")
    again = killed_then_rerun(root, MONITOR, point)
    assert again.returncode == exit_code
    assert state(root) == reference[drift]
    assert reference["never-fixed"]["alerts"] == 1 and reference["fixed-on-try-three"]["retrain_commits"] == 1


def test_kill_points_are_documented():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md").read_text()
    for point in INFER_POINTS + FIXED_POINTS + ALERT_POINTS:
        assert f"`{point.split(':')[0]}`" in doc, point
