"""`mlops infer` over the in-memory tables and registry: which batches, one write per batch,
the predictions' columns, and the refusals."""

from __future__ import annotations

import pandas as pd
import pytest

from devops_mlops.context import Context
from devops_mlops.errors import InputError
from devops_mlops.ops.infer import infer
from devops_mlops.ops.tables import PREDICTIONS
from devops_mlops.testing.fakes.registry import FakeRegistry
from devops_mlops.testing.fakes.tables import FakeTables

pytestmark = pytest.mark.fast


class Double:
    """A fitted model of the simplest kind: twice its one input."""

    def predict(self, frame):
        return (2 * frame["x"]).to_numpy()


def features(batch: int, n: int = 5) -> pd.DataFrame:
    return pd.DataFrame({"k": [f"{batch}-{i}" for i in range(n)], "batch_id": [batch] * n,
                         "x": [float(i) for i in range(n)], "unused": ["-"] * n})


@pytest.fixture
def ctx(tmp_path):
    (tmp_path / "mlops.yaml").write_text("project: p\nmodel: {name: m, label: y, keys: [k], features_table: feats}\n")
    ctx = Context.create(config_path=tmp_path / "mlops.yaml")
    ctx.tables, ctx.registry = FakeTables(), FakeRegistry()
    for batch in range(4):
        ctx.tables.append("feats", features(batch))
    logged = ctx.registry.log_training_run(Double(), sample=features(0)[["x"]], experiment="p", run_name="train",
                                           params={}, metrics={}, tags={})
    version = ctx.registry.register(logged.model_uri, "m", {"mlops.eval_batch": "1"})
    ctx.registry.assign("m", "production", version)
    return ctx


def test_scores_the_batches_after_the_evaluated_one_once_each(ctx):
    result = infer(ctx, chunk_rows=2)
    assert (result.batches, result.rows, result.version, result.engine) == ([2, 3], 10, 1, "pandas")
    assert [(w.op, w.table, w.value) for w in ctx.tables.writes if w.table == PREDICTIONS] == [
        ("replace_where", PREDICTIONS, 2), ("replace_where", PREDICTIONS, 3)]
    preds = ctx.tables.read(PREDICTIONS)
    assert list(preds.columns) == ["k", "prediction", "model_name", "model_version", "scored_at", "batch_id"]
    assert preds.set_index("k")["prediction"].to_dict()["3-4"] == 8.0
    assert set(preds["model_name"]) == {"m"} and set(preds["model_version"]) == {1}
    assert str(preds["scored_at"].dtype).endswith("UTC]")
    assert infer(ctx).batches == [] and "nothing to score" in infer(ctx).summary()


def test_named_batches_are_rescored_in_place(ctx):
    infer(ctx)
    infer(ctx, batches=[3], chunk_rows=1)
    assert len(ctx.tables.read(PREDICTIONS, where={"batch_id": 3})) == 5
    assert infer(ctx, rescore=True).batches == [2, 3]  # still only after the evaluated batch


def test_refusals_and_dry_run(ctx):
    with pytest.raises(InputError, match="no rows for batch"):
        infer(ctx, batches=[9])
    ctx.dry_run = True
    plan = infer(ctx)
    assert plan.dry_run and plan.rows == 0 and "would score" in plan.summary()
    assert not ctx.tables.exists(PREDICTIONS)
    ctx.dry_run = False
    ctx.registry.unassign("m", "production", 1)
    with pytest.raises(InputError, match="no production version"):
        infer(ctx)
