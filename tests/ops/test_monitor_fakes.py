"""`mlops monitor` over the in-memory tables, registry and alerts: the check, each ending of the
retrain loop, a crashed try resumed, and --dry-run. Models predict a constant and labels are
constant per batch, so every metric is known in advance (mape = |label - constant| / label)."""

from __future__ import annotations

import json
import sys
from typing import Any

import pandas as pd
import pytest

from devops_mlops.context import Context
from devops_mlops.core import retrain_loop as rl
from devops_mlops.errors import CheckFailed, InputError
from devops_mlops.ops import tables as T
from devops_mlops.ops.monitor import check_metrics, check_pipeline_params, monitor, raise_if_failed, recheck_candidate
from devops_mlops.testing.fakes.alerts import FakeAlerts
from devops_mlops.testing.fakes.registry import FakeRegistry
from devops_mlops.testing.fakes.tables import FakeTables

pytestmark = pytest.mark.fast

CONFIG = """project: p
model: {name: m, label: y, keys: [k], primary_metric: mape, higher_is_better: false,
        features_table: feats, labels_table: ys}
python_path: [src]
entry_points: {evaluation_data: "fake_monitor_project:evaluation_frame"}
promotion: {thresholds: {mape: {max: 0.2}}}
monitoring:
  metrics: [{name: mape, max: 0.2}]
  windows: {evaluate: 1, violations: 1}
  max_retrains: 2
"""

PROJECT = '''
def evaluation_frame(s, batch=None):
    batch = s.labelled_batches()[-1] if batch is None else batch
    return s.read(s.features_table, [batch]).merge(s.read(s.labels_table, [batch])[["k", "y"]], on="k")
'''


class Constant:
    def __init__(self, value: float):
        self.value = value

    def predict(self, frame):
        return [float(self.value)] * len(frame)


class Retrainer:
    """Each try trains the next constant of ``values`` (an exception instead: the try's process dies)."""

    name = "fake"

    def __init__(self, *values: Any):
        self.values = list(values)
        self.calls: list[tuple[int, int]] = []

    def run(self, ctx, attempt: int, eval_batch: int) -> dict[str, Any]:
        self.calls.append((attempt, eval_batch))
        value = self.values.pop(0)
        if isinstance(value, BaseException):
            raise value
        label = float(ctx.tables.read("ys", where={"batch_id": eval_batch})["y"].iloc[0])
        frame = ctx.tables.read("feats", where={"batch_id": eval_batch})[["x"]]
        logged = ctx.registry.log_training_run(Constant(value), sample=frame, experiment="p", run_name="retrain",
                                               params={}, metrics={}, tags={})
        return {"run_id": logged.run_id, "model_uri": logged.model_uri, "train_batches": [eval_batch - 1],
                "eval_batch": eval_batch, "metrics": {"mape": abs(label - value) / label}}


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    monkeypatch.setenv("BUILD_SOURCEVERSION", "a" * 40)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "fake_monitor_project.py").write_text(PROJECT)
    (tmp_path / "mlops.yaml").write_text(CONFIG)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the entry points' folder goes first on it
    context = Context.create(config_path=tmp_path / "mlops.yaml")
    context.tables, context.registry, context.alerts = FakeTables(), FakeRegistry(), FakeAlerts()
    production = context.registry.log_sklearn_model(Constant(10), "m", X=pd.DataFrame({"x": [1.0]}))
    context.registry.assign("m", "production", production.version)
    return context


def land(ctx, batch: int, *, label: float | None, scored_by: int | None = 1, value: float = 10.0) -> None:
    """Batch ``batch``: features, its labels (when they arrived), v``scored_by``'s predictions of ``value``."""
    keys = [f"{batch}-{i}" for i in range(4)]
    ctx.tables.replace_where("feats", pd.DataFrame({"k": keys, "x": [1.0] * 4, "batch_id": [batch] * 4}),
                             column="batch_id", value=batch)
    if label is not None:
        ctx.tables.replace_where("ys", pd.DataFrame({"k": keys, "y": [label] * 4, "batch_id": [batch] * 4}),
                                 column="batch_id", value=batch)
    if scored_by is not None:
        predictions = pd.DataFrame({"k": keys, "prediction": [value] * 4, "model_name": "m",
                                    "model_version": scored_by, "batch_id": [batch] * 4})
        ctx.tables.replace_where(T.PREDICTIONS, predictions, column="batch_id", value=batch)


def events(ctx) -> list[tuple[int, str, str]]:
    return [(r["attempt"], r["event"], r["outcome"]) for r in ctx.tables.rows(T.RETRAIN_ATTEMPTS)]


def test_nothing_to_evaluate_then_in_range(ctx):
    assert monitor(ctx, retrainer=Retrainer()).outcome == rl.NOTHING_TO_EVALUATE
    land(ctx, 1, label=10.0)
    result = monitor(ctx, retrainer=Retrainer())
    assert result.outcome == rl.IN_RANGE and result.exit_code == 0 and result.check.values() == {"mape": 0.0}
    assert [(r["batch_id"], r["metric"], r["status"]) for r in ctx.tables.rows(T.METRICS)] == [(1, "mape", "ok")]
    assert not ctx.tables.exists(T.RETRAIN_ATTEMPTS) and ctx.alerts.sent == []


def test_a_try_that_improves_and_passes_is_promoted_and_rescores_the_waiting_batch(ctx):
    land(ctx, 2, label=20.0)  # v1 predicts 10: mape 0.5, out of range
    land(ctx, 3, label=None, scored_by=1)  # waiting for its labels
    retrainer = Retrainer(12, 20)  # try 1 improves (0.4) but fails the gate; try 2 is exact
    result = monitor(ctx, retrainer=retrainer)
    assert result.outcome == rl.RETRAINED and result.exit_code == 0 and retrainer.calls == [(1, 2), (2, 2)]
    assert [(t["attempt"], t["outcome"], t["version"]) for t in result.tries] == [
        (1, rl.GATE_FAILED, 2), (2, rl.PASSED, 3)]
    assert ctx.registry.assigned("m", "production") == 3 == result.promoted_version
    assert ctx.registry.version_tags("m", 2)["mlops.retrain.gate"] == "failed"
    assert result.commit == "skipped: monitoring.retrain_notebook is not set" and result.scored_batches == [3]
    assert {r["model_version"] for r in ctx.tables.rows(T.PREDICTIONS) if r["batch_id"] == 3} == {3}
    assert [e[1] for e in events(ctx)] == ["started", "finished", "started", "finished", "promoted", "committed",
                                          "scored"]
    # a second run: the loop is finished and the new production version scored no window yet
    again = monitor(ctx, retrainer=Retrainer())
    assert again.outcome == rl.IN_RANGE and len(events(ctx)) == 7 and ctx.registry.versions_of("m") == [1, 2, 3]


def test_no_try_improves_within_n_alerts_once(ctx):
    land(ctx, 2, label=20.0)
    result = monitor(ctx, retrainer=Retrainer(10, 5))  # as bad as production, then worse
    assert result.outcome == rl.ALERTED and result.exit_code == 1
    assert [t["outcome"] for t in result.tries] == [rl.NOT_IMPROVED, rl.NOT_IMPROVED]
    assert result.tries[1]["detail"] == "mape 0.75 vs production 0.5"
    assert ctx.alerts.titles() == ["model needs retraining: m"] and ctx.registry.versions_of("m") == [1]
    with pytest.raises(CheckFailed, match="2 tries did not fix it"):
        raise_if_failed(result)
    again = monitor(ctx, retrainer=Retrainer())
    assert again.outcome == rl.ALERTED and "sent by an earlier run" in again.notes[0]
    assert len(ctx.alerts.titles()) == 1


def test_a_try_whose_process_died_runs_again_once(ctx):
    land(ctx, 2, label=20.0)
    with pytest.raises(KeyboardInterrupt):
        monitor(ctx, retrainer=Retrainer(KeyboardInterrupt()))
    assert events(ctx) == [(1, "started", "")]
    resumed = monitor(ctx, retrainer=Retrainer(20))
    assert resumed.resumed and resumed.outcome == rl.RETRAINED
    started = [r for r in ctx.tables.rows(T.RETRAIN_ATTEMPTS) if r["event"] == "started"]
    assert [(r["attempt"], r["detail"]) for r in started] == [
        (1, ""), (1, "again: the run that started it was interrupted")]


def test_dry_run_plans_the_loop_and_writes_nothing(ctx):
    land(ctx, 2, label=20.0)
    ctx.dry_run = True
    result = monitor(ctx, retrainer=Retrainer())
    assert result.outcome == rl.PLANNED and result.loop_id == "m@v1@batch-000002"
    assert "kept on a local branch, not pushed" in result.notes[0]
    assert not ctx.tables.exists(T.METRICS) and not ctx.tables.exists(T.RETRAIN_ATTEMPTS)


def test_check_metrics_verdict_and_pipeline_parameters(ctx):
    land(ctx, 4, label=8.0)  # v1 predicts 10: mape 0.25
    check = check_metrics(ctx)
    assert check.retrain_needed and check.verdict()["out_of_range"] == ["mape"]
    assert "violation" in str(check.verdict()) and check.summary().endswith("retraining needed")
    check_pipeline_params(ctx, {"model_name": "m", "metrics": '[{"name": "mape", "max": 0.2}]', "windows_evaluate": ""})
    with pytest.raises(InputError, match="pipeline parameter windows_evaluate '3' differs"):
        check_pipeline_params(ctx, {"windows_evaluate": "3"})
    with pytest.raises(InputError, match="not JSON"):
        check_pipeline_params(ctx, {"metrics": "mape"})


def test_recheck_judges_a_candidate_against_production_on_its_window(ctx):
    land(ctx, 2, label=20.0)
    good = Retrainer(20).run(ctx, 1, 2)
    recheck = recheck_candidate(ctx, json.dumps({"candidate": good["model_uri"], "eval_batch": 2}), attempt=1)
    assert recheck.ok and (recheck.batch, recheck.rows, recheck.production_version) == (2, 4, 1)
    assert recheck.metrics["mape"] == 0.0 and recheck.production_metrics["mape"] == 0.5
    assert recheck.to_dict()["status"] == "ok" and "passes the gate" in recheck.summary()
    close = Retrainer(12).run(ctx, 2, 2)  # better than production, still out of range and under the gate
    recheck = recheck_candidate(ctx, close["run_id"])  # a bare run id: the latest labelled batch
    assert not recheck.ok and recheck.improved and recheck.out_of_range == ["mape"] and not recheck.gate_passed
    assert "violation" in json.dumps(recheck.to_dict()) and recheck.summary().count("still failing") == 1
