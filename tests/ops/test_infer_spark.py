"""`mlops infer` on the local Spark engine: `mlflow.pyfunc.spark_udf` over the Spark feature table."""

from __future__ import annotations

import numpy as np

from devops_mlops.ops.infer import infer, input_columns
from devops_mlops.ops import tables as T
from devops_mlops.testing import project as sandbox


def test_spark_udf_scores_what_the_model_predicts_and_a_rescore_replaces(spark, tmp_path):
    folder = sandbox.make_project(tmp_path / "proj", git=False, data={"drift": []})
    ctx = sandbox.trained(folder, target="local-spark")  # v1 in production
    assert ctx.tables.spark is spark  # the process's one engine
    version = 1
    batch = max(T.table_batches(ctx.tables, ctx.config.model.features_table)) + 1
    sandbox.ingest(ctx, [batch])

    result = infer(ctx)
    assert result.engine == "spark_udf" and result.batches == [batch] and result.rows == 420
    preds = ctx.tables.read(T.PREDICTIONS, where={"batch_id": batch})
    assert list(preds.columns) == ["plaza", "date", "prediction", "model_name", "model_version", "scored_at",
                                   "batch_id"]
    assert str(preds["scored_at"].dtype).endswith("UTC]") and set(preds["model_version"]) == {version}

    model = ctx.registry.load_model(ctx.config.model.name, version)
    feats = ctx.tables.read(ctx.config.model.features_table, where={"batch_id": batch})
    expected = feats[["plaza", "date"]].assign(want=np.asarray(model.predict(feats[input_columns(model)])))
    both = preds.merge(expected, on=["plaza", "date"])
    assert len(both) == 420 and np.allclose(both["prediction"], both["want"])

    again = infer(ctx, batches=[batch])
    assert again.rows == 420 and len(ctx.tables.read(T.PREDICTIONS)) == 420  # replaced, not appended
