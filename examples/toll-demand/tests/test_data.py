"""The project's own package: the data generator, validation, preparation, features, training (no I/O)."""

from __future__ import annotations

import pandas as pd
import pytest

from devops_mlops.runtime.api import CheckFailed, ConfigError
from toll_demand import data, evaluation, features, preparation, training


def small(**kw):
    return data.DataSettings.from_config({"plazas": 6, **kw})


def labelled(settings, batch):
    raw = data.generate_batch(settings, batch)
    feats, labels = data.split_labels(raw)
    return features.training_frame(features.build_features(preparation.clean(feats)), labels)


def test_batches_are_deterministic_and_independent_of_order():
    s = small()
    b3 = data.generate_batch(s, 3)
    data.generate_batch(s, 1)
    pd.testing.assert_frame_equal(b3, data.generate_batch(s, 3))
    assert not b3.equals(data.generate_batch(s, 2))
    assert len(b3) == 6 * 14 and b3["date"].nunique() == 14 and (b3["batch_id"] == 3).all()
    other = data.DataSettings.from_config({"plazas": 6, "seed": 7})
    assert not data.generate_batch(other, 3)["vehicles"].equals(b3["vehicles"])


def test_drift_switch_changes_only_the_labels_from_its_batch():
    plain, drifted = small(), small(drift=[{"from_batch": 2, "kind": "demand"}])
    a, b = data.generate_batch(plain, 1), data.generate_batch(drifted, 1)
    pd.testing.assert_frame_equal(a, b)
    a, b = data.generate_batch(plain, 2), data.generate_batch(drifted, 2)
    pd.testing.assert_frame_equal(a.drop(columns="vehicles"), b.drop(columns="vehicles"))
    assert b["vehicles"].mean() > a["vehicles"].mean() * 1.2
    assert drifted.drift_at(5).kind == "demand" and drifted.drift_at(1) is None


def test_settings_are_validated():
    with pytest.raises(ConfigError, match="unknown key"):
        data.DataSettings.from_config({"plazaz": 3})
    with pytest.raises(ConfigError, match="kind"):
        data.DataSettings.from_config({"drift": [{"from_batch": 1, "kind": "meteor"}]})
    with pytest.raises(ConfigError, match="windows"):
        data.DataSettings.from_config({"retrain": {"windows": [0]}})
    s = data.DataSettings.from_config({"retrain": {"windows": [3, 1]}})
    assert [s.retrain_window(k) for k in (1, 2, 3)] == [3, 1, 1]


def test_validation_reports_each_problem():
    raw = data.generate_batch(small(), 0, with_labels=False)
    assert data.validate_raw(raw, batch=0) == []
    bad = pd.concat([raw, raw.head(2)], ignore_index=True)
    bad.loc[0, "weather"] = "hail"
    bad.loc[1, "lanes_open"] = 99
    bad.loc[2, "temp_c"] = None
    problems = " | ".join(data.validate_raw(bad, batch=1))
    for word in ("duplicate", "hail", "lanes_open", "null", "another batch"):
        assert word in problems
    with pytest.raises(CheckFailed, match="data validation failed"):
        data.check_raw(bad)
    assert data.validate_raw(raw.drop(columns=["price"])) == ["missing column(s): price"]


def test_prepare_dedupes_and_features_are_complete():
    raw = data.generate_batch(small(), 0, with_labels=False)
    messy = pd.concat([raw, raw.head(3)], ignore_index=True)
    messy["plaza"] = " " + messy["plaza"].str.lower()
    clean = preparation.clean(messy)
    assert len(clean) == len(raw) and clean["plaza"].str.match(r"^P\d{3}$").all()
    feats = features.build_features(clean)
    assert feats[features.FEATURES].notna().all().all()
    assert list(feats.columns[:3]) == ["plaza", "date", "batch_id"]


def test_retraining_on_fresh_data_fixes_demand_drift_but_not_noise():
    s = small(plazas=12, drift=[{"from_batch": 4, "kind": "demand"}, {"from_batch": 6, "kind": "noise"}])
    frames = {b: labelled(s, b) for b in range(8)}
    old = training.fit(pd.concat([frames[b] for b in range(3)]))
    assert evaluation.evaluate_model(old, frames[3])["mape"] < 0.12
    assert evaluation.evaluate_model(old, frames[5])["mape"] > 0.25
    fresh = training.fit(frames[4])
    assert evaluation.evaluate_model(fresh, frames[5])["mape"] < 0.15
    noisy = training.fit(pd.concat([frames[6]]))
    assert evaluation.evaluate_model(noisy, frames[7])["mape"] > 0.3


def test_the_scenario_names_each_drift_and_whether_retraining_fixes_it():
    class Session:
        data = {"history_batches": 4, "drift": [{"from_batch": 9, "kind": "noise"}, {"from_batch": 6, "kind": "demand"}]}

    doc = data.scenario(Session())
    assert doc["history"] == [0, 1, 2, 3] and doc["label_delay"] == 1
    assert [(d["from_batch"], d["fixable"]) for d in doc["drifts"]] == [(6, True), (9, False)]
