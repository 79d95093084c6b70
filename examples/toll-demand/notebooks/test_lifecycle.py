# Databricks notebook source
# MAGIC %md
# MAGIC # Tests of the project's own package (toll_demand) on small data
# MAGIC Runs with `mlops test` (each `test_*` function is a test case) and on Databricks.

# COMMAND ----------

import pandas as pd

from toll_demand import data, evaluation, features, preparation, training

SMALL = data.DataSettings.from_config(
    {"plazas": 6, "days_per_batch": 14, "drift": [{"from_batch": 4, "kind": "demand"}, {"from_batch": 6, "kind": "noise"}]}
)


def frame(batch):
    raw = data.generate_batch(SMALL, batch)
    feats, labels = data.split_labels(raw)
    return features.training_frame(features.build_features(preparation.clean(feats)), labels)


# COMMAND ----------


def test_generator_is_deterministic():
    a, b = data.generate_batch(SMALL, 2), data.generate_batch(SMALL, 2)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 6 * 14 and not data.validate_raw(a.drop(columns=["vehicles"]))


def test_validation_catches_bad_rows():
    raw = data.generate_batch(SMALL, 0, with_labels=False)
    bad = pd.concat([raw, raw.head(1)])
    bad.loc[bad.index[0], "price"] = -1
    problems = data.validate_raw(bad)
    assert any("duplicate" in p for p in problems) and any("price" in p for p in problems)


def test_features_have_the_model_inputs():
    f = frame(0)
    assert list(f.columns[:3]) == ["plaza", "date", "batch_id"]
    assert set(features.FEATURES) <= set(f.columns) and f[features.FEATURES].notna().all().all()


def test_model_learns_and_drift_hurts():
    model = training.fit(pd.concat([frame(b) for b in range(3)]))
    ok = evaluation.evaluate_model(model, frame(3))
    demand = evaluation.evaluate_model(model, frame(4))
    assert ok["mape"] < 0.15, ok
    assert demand["mape"] > ok["mape"] * 2, (ok, demand)


# COMMAND ----------

test_generator_is_deterministic()
test_validation_catches_bad_rows()
test_features_have_the_model_inputs()
test_model_learns_and_drift_hurts()
print("toll_demand: ok")
