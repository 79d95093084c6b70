"""`mlops infer`: scoring into predictions, chunked, idempotent per batch."""

from __future__ import annotations

import pytest

from devops_mlops.errors import InputError
from devops_mlops.runtime.api import Session
from devops_mlops.testing import project as sandbox
from devops_mlops.ops import tables as T
from devops_mlops.ops.infer import infer


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    folder = sandbox.make_project(tmp_path_factory.mktemp("infer") / "proj", git=False, data={"drift": []})
    ctx = sandbox.trained(folder)
    sandbox.ingest(ctx, [6, 7])
    return ctx


def test_scores_new_batches_then_nothing(ctx):
    result = infer(ctx, chunk_rows=1000)
    assert result.batches == [6, 7] and result.rows == 2 * 420 and result.version == 1
    preds = ctx.tables.read(T.PREDICTIONS)
    assert list(preds.columns) == [
        "plaza",
        "date",
        "prediction",
        "model_name",
        "model_version",
        "scored_at",
        "batch_id",
    ]
    assert preds["prediction"].gt(0).all() and set(preds["model_name"]) == {"toll-demand"}
    assert str(preds["scored_at"].dtype).endswith("UTC]")
    assert infer(ctx).batches == []  # already scored


def test_rescoring_a_batch_replaces_its_rows(ctx):
    before = ctx.tables.read(T.PREDICTIONS, where={"batch_id": 6})
    for chunk in (1000, 97):  # small chunks: the same predictions
        infer(ctx, batches=[6], chunk_rows=chunk)
    after = ctx.tables.read(T.PREDICTIONS, where={"batch_id": 6})
    assert len(after) == len(before) == 420
    assert (
        after.sort_values(["plaza", "date"])["prediction"].round(6).tolist()
        == before.sort_values(["plaza", "date"])["prediction"].round(6).tolist()
    )
    assert len(ctx.tables.read(T.PREDICTIONS, where={"batch_id": 7})) == 420


def test_unknown_batch_and_dry_run(ctx):
    with pytest.raises(InputError, match="no rows for batch"):
        infer(ctx, batches=[99])
    ctx.dry_run = True
    try:
        plan = infer(ctx, batches=[7])
    finally:
        ctx.dry_run = False
    assert plan.dry_run and plan.rows == 0 and "would score" in plan.summary()


def test_stages_are_idempotent_per_batch(ctx):
    s = Session(ctx)
    for _ in range(2):
        sandbox.ingest(ctx, [7])
    for table in ("raw_traffic", "traffic_clean", s.features_table):
        assert len(ctx.tables.read(table, where={"batch_id": 7})) == 420
    assert s.labelled_batches() == [0, 1, 2, 3, 4, 5, 6]
    labels = ctx.tables.read(s.labels_table)
    assert not labels.duplicated(["plaza", "date"]).any()
