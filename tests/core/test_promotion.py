from devops_mlops.config import Bound
from devops_mlops.core.promotion import decide, gate_metrics, previous_holder, table_rows

import pytest

pytestmark = pytest.mark.fast


def _decide(cand, prod, **kw):
    kw.setdefault("primary", "rmse")
    kw.setdefault("primary_higher_is_better", False)
    return decide(cand, prod, **kw)


def test_thresholds_min_and_max_with_config_bounds_or_mappings():
    result = _decide({"rmse": 2.0, "r2": 0.5}, None, thresholds={"rmse": Bound(max=1.5), "r2": {"min": 0.8}})
    assert not result.passed
    assert result.reasons == ["rmse: 2 is above the maximum 1.5", "r2: 0.5 is below the minimum 0.8"]
    assert _decide({"rmse": 1.0, "r2": 0.9}, None, thresholds={"rmse": Bound(max=1.5), "r2": {"min": 0.8}}).passed


def test_no_production_skips_the_comparison():
    result = _decide({"rmse": 3.0}, None, min_improvement={"rmse": 0.5})
    assert result.passed and not result.has_production
    assert result.rows[0].improvement is None


def test_min_improvement_in_the_metric_direction():
    lower = _decide({"rmse": 1.0}, {"rmse": 1.4}, min_improvement={"rmse": 0.5})
    assert not lower.passed
    assert "improves on production (1.4) by 0.4, needs 0.5" in lower.summary()
    assert _decide({"rmse": 1.0}, {"rmse": 1.6}, min_improvement={"rmse": 0.5}).passed
    higher = _decide({"r2": 0.9}, {"r2": 0.85}, min_improvement={"r2": 0.01})
    assert higher.passed and higher.rows[1].improvement > 0


def test_primary_metric_never_worse_than_production_by_default():
    worse = _decide({"rmse": 1.1}, {"rmse": 1.0})
    assert not worse.passed and "worse than production's 1" in worse.summary()
    assert _decide({"rmse": 1.0}, {"rmse": 1.0}).passed  # the same model against itself
    hib = decide({"auc": 0.7}, {"auc": 0.8}, primary="auc", primary_higher_is_better=True)
    assert not hib.passed


def test_missing_candidate_metric_fails_only_when_gated():
    assert not _decide({}, None, thresholds={"mae": {"max": 1}}).passed
    assert _decide({}, None).passed  # primary without value and without rules: shown, not gated


def test_gate_metrics_and_table():
    assert gate_metrics({"mae": 1, "rmse": 2}, {"r2": 0.1}, "rmse") == ["rmse", "mae", "r2"]
    rows, header = table_rows(_decide({"rmse": 2.0}, {"rmse": 1.0}, thresholds={"rmse": {"min": 0, "max": 3}}))
    assert header[0] == "metric" and rows[0][-1] == "FAIL" and rows[0][4] == ">= 0, <= 3"


def test_previous_holder_walks_back_like_a_stack():
    log = [
        {"action": "promote", "version": 1, "previous_version": None, "promoted_at": 1},
        {"action": "promote", "version": 2, "previous_version": 1, "promoted_at": 2},
        {"action": "promote", "version": 3, "previous_version": 2, "promoted_at": 3},
    ]
    assert previous_holder(log, 3) == 2
    log.append({"action": "rollback", "version": 2, "previous_version": 3, "promoted_at": 4})
    assert previous_holder(log, 2) == 1  # rollback rows are not followed
    assert previous_holder(log, 1) is None
    assert previous_holder(log, 9) is None
    log.append({"action": "promote", "version": 2, "previous_version": float("nan"), "promoted_at": 5})
    assert previous_holder(log, 2) is None  # the latest promotion of v2 replaced nobody
