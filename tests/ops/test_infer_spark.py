"""`mlops infer` on the local Spark engine: `mlflow.pyfunc.spark_udf` over the Spark feature table."""

from __future__ import annotations

import numpy as np

from devops_mlops.context import Context
from devops_mlops.lifecycle import sandbox, stages
from devops_mlops.lifecycle.session import open_session
from devops_mlops.ops.infer import infer, input_columns
from devops_mlops.ops.model import promote
from devops_mlops.runtime import tables as T


def test_spark_udf_scores_what_the_model_predicts_and_a_rescore_replaces(spark, tmp_path):
    folder = sandbox.make_project(tmp_path / "proj", git=False, data={"drift": []})
    ctx = Context.create(config_path=folder / "mlops.yaml", target="local-spark")
    s = open_session(ctx=ctx)
    assert s.tables.spark is spark  # the process's one engine
    stages.ingest(s, stages.parse_batches(s, "history"))
    version = stages.train(s)["version"]
    promote(ctx, version, "production", eval_frame=stages.eval_frame(s))
    batch = s.settings.history_batches
    stages.ingest(s, [batch])

    result = infer(ctx)
    assert result.engine == "spark_udf" and result.batches == [batch] and result.rows == 420
    preds = ctx.tables.read(T.PREDICTIONS, where={"batch_id": batch})
    assert list(preds.columns) == ["plaza", "date", "prediction", "model_name", "model_version", "scored_at",
                                   "batch_id"]
    assert str(preds["scored_at"].dtype).endswith("UTC]") and set(preds["model_version"]) == {version}

    model = ctx.registry.load_model(ctx.config.model.name, version)
    feats = ctx.tables.read(T.FEATURES, where={"batch_id": batch})
    expected = feats[["plaza", "date"]].assign(want=np.asarray(model.predict(feats[input_columns(model)])))
    both = preds.merge(expected, on=["plaza", "date"])
    assert len(both) == 420 and np.allclose(both["prediction"], both["want"])

    again = infer(ctx, batches=[batch])
    assert again.rows == 420 and len(ctx.tables.read(T.PREDICTIONS)) == 420  # replaced, not appended
