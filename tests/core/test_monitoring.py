"""The V-of-last-K rule (pure)."""

from __future__ import annotations

import math

import pytest

from devops_mlops.core import monitoring as mon

pytestmark = pytest.mark.fast


def rows(statuses, metric="mape"):
    return [{"metric": metric, "window_end": f"2024-01-{i + 10:02d}", "status": s} for i, s in enumerate(statuses)]


def test_status_of_bounds_and_nan():
    assert mon.status_of(0.1, None, 0.15) == mon.OK
    assert mon.status_of(0.2, None, 0.15) == mon.VIOLATION
    assert mon.status_of(0.5, 0.7, None) == mon.VIOLATION
    assert mon.status_of(math.nan, 0.7, None) == mon.VIOLATION


def test_rule_needs_v_of_last_k_and_the_latest():
    ok, bad = mon.OK, mon.VIOLATION
    assert not mon.decide(rows([ok, ok, bad]), evaluate=3, violations=2).retrain  # only one
    assert mon.decide(rows([ok, bad, bad]), evaluate=3, violations=2).retrain
    assert not mon.decide(rows([bad, bad, ok]), evaluate=3, violations=2).retrain  # latest is fine
    assert not mon.decide(rows([bad, ok, ok, ok, bad]), evaluate=3, violations=2).retrain  # old one out of K
    assert mon.decide(rows([bad]), evaluate=1, violations=1).retrain
    assert not mon.decide([], evaluate=3, violations=2).retrain


def test_rule_is_per_metric_and_latest_evaluation_wins():
    data = rows([mon.OK, mon.VIOLATION], "mape") + rows([mon.VIOLATION, mon.OK], "r2")
    d = mon.decide(data, evaluate=2, violations=2)
    assert not d.retrain and d.latest_window == "2024-01-11"
    again = data + [{"metric": "mape", "window_end": "2024-01-10", "status": mon.VIOLATION, "evaluated_at": "z"}]
    d = mon.decide(again, evaluate=2, violations=2)
    assert d.retrain and d.triggered == ["mape"]


def test_improves_respects_direction():
    assert mon.improves(0.1, 0.2, higher_is_better=False)
    assert not mon.improves(0.3, 0.2, higher_is_better=False)
    assert mon.improves(0.9, 0.8, higher_is_better=True)
    assert mon.improves(0.9, None, higher_is_better=True)
    assert mon.improves(0.9, math.nan, higher_is_better=True)
