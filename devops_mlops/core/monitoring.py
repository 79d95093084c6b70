"""The monitoring rule, as plain logic (no I/O).

The rule (as Databricks MLOps Stacks has it): a metric calls for retraining when
it is out of range in at least ``V`` of the last ``K`` evaluated windows *and* in
the latest one. What happens then, the bounded retrain loop, is
:mod:`devops_mlops.core.retrain_loop`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

OK = "ok"
VIOLATION = "violation"


def status_of(value: float | None, minimum: float | None, maximum: float | None) -> str:
    if value is None or _nan(value):  # NaN: no verdict possible, count it as out of range
        return VIOLATION
    if minimum is not None and value < minimum:
        return VIOLATION
    if maximum is not None and value > maximum:
        return VIOLATION
    return OK


@dataclass
class MetricCheck:
    metric: str
    #: (window_end, status), oldest first, the last K windows
    windows: list[tuple[str, str]]
    violations: int
    latest_violation: bool
    triggered: bool


@dataclass
class Decision:
    retrain: bool
    latest_window: str | None
    checks: list[MetricCheck] = field(default_factory=list)

    @property
    def triggered(self) -> list[str]:
        return [c.metric for c in self.checks if c.triggered]

    def to_dict(self) -> dict[str, Any]:
        return {
            "retrain": self.retrain,
            "latest_window": self.latest_window,
            "triggered": self.triggered,
            "checks": [asdict(c) for c in self.checks],
        }


def decide(rows: list[dict[str, Any]], *, evaluate: int, violations: int) -> Decision:
    """Apply the V-of-last-K rule to metric rows (``window_end``, ``metric``, ``status``, optional
    ``evaluated_at``; the latest evaluation of a window and metric wins)."""
    latest: dict[tuple[str, str], tuple[str, str]] = {}
    for r in rows:
        key = (str(r["metric"]), str(r["window_end"]))
        stamp = str(r.get("evaluated_at") or "")
        if key not in latest or stamp >= latest[key][0]:
            latest[key] = (stamp, str(r["status"]))
    windows = sorted({w for _, w in latest})
    if not windows:
        return Decision(False, None)
    recent = windows[-evaluate:]
    newest = windows[-1]
    checks = []
    for metric in sorted({m for m, _ in latest}):
        seen = [(w, latest[(metric, w)][1]) for w in recent if (metric, w) in latest]
        count = sum(1 for _, s in seen if s == VIOLATION)
        latest_bad = latest.get((metric, newest), ("", OK))[1] == VIOLATION
        checks.append(MetricCheck(metric, seen, count, latest_bad, latest_bad and count >= violations))
    return Decision(any(c.triggered for c in checks), newest, checks)


def improves(candidate: float, current: float | None, *, higher_is_better: bool) -> bool:
    """Whether ``candidate`` is better than ``current`` (anything is, when there is no current value)."""
    if current is None or _nan(current):
        return True
    return candidate > current if higher_is_better else candidate < current


def _nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)
