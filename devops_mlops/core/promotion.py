"""The promotion gate: a pure decision from metrics, thresholds and the production model.

A candidate passes when every threshold holds (``{metric: {min: x} | {max: x}}``)
and, when a production model exists, it improves on production by at least
``min_improvement[metric]`` in the metric's good direction (absolute units). The
primary metric must never be worse than production, even when no
``min_improvement`` is configured for it (an improvement of at least 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from . import metrics as metric_lib

SLOTS = ("staging", "production")


@dataclass
class GateRow:
    metric: str
    candidate: float | None
    production: float | None
    higher_is_better: bool
    min: float | None = None
    max: float | None = None
    min_improvement: float | None = None
    #: candidate better than production by this much (positive = better), None without production
    improvement: float | None = None
    passed: bool = True
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GateResult:
    passed: bool
    rows: list[GateRow]
    has_production: bool

    @property
    def reasons(self) -> list[str]:
        return [f"{r.metric}: {why}" for r in self.rows for why in r.reasons]

    def summary(self) -> str:
        if self.passed:
            return "passed"
        return "failed: " + "; ".join(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "reasons": self.reasons, "rows": [r.to_dict() for r in self.rows]}


def _bound(value: Any) -> tuple[float | None, float | None]:
    if value is None:
        return None, None
    if isinstance(value, Mapping):
        return value.get("min"), value.get("max")
    return getattr(value, "min", None), getattr(value, "max", None)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.6g}"


def gate_metrics(thresholds: Mapping[str, Any], min_improvement: Mapping[str, float], primary: str) -> list[str]:
    """The metrics the gate needs, primary first, in a stable order."""
    names = [primary]
    for name in list(thresholds) + list(min_improvement):
        if name not in names:
            names.append(name)
    return names


def direction(name: str, primary: str, primary_higher_is_better: bool) -> bool:
    if name == primary:
        return primary_higher_is_better
    if metric_lib.known(name):
        return metric_lib.higher_is_better(name)
    return False


def decide(
    candidate: Mapping[str, float],
    production: Mapping[str, float] | None,
    *,
    thresholds: Mapping[str, Any] | None = None,
    min_improvement: Mapping[str, float] | None = None,
    primary: str,
    primary_higher_is_better: bool,
) -> GateResult:
    """Decide the gate. ``production`` is None when nothing holds production yet."""
    thresholds = thresholds or {}
    min_improvement = dict(min_improvement or {})
    rows: list[GateRow] = []
    for name in gate_metrics(thresholds, min_improvement, primary):
        hib = direction(name, primary, primary_higher_is_better)
        lo, hi = _bound(thresholds.get(name))
        cand = candidate.get(name)
        prod = production.get(name) if production is not None else None
        need = min_improvement.get(name)
        if need is None and name == primary:
            need = 0.0
        row = GateRow(name, cand, prod, hib, lo, hi, min_improvement.get(name) if name in min_improvement else need)
        if cand is None or (isinstance(cand, float) and math.isnan(cand)):
            if lo is not None or hi is not None or name in min_improvement:
                row.passed = False
                row.reasons.append("the candidate has no value for this metric")
            rows.append(row)
            continue
        if lo is not None and cand < lo:
            row.passed = False
            row.reasons.append(f"{_fmt(cand)} is below the minimum {_fmt(lo)}")
        if hi is not None and cand > hi:
            row.passed = False
            row.reasons.append(f"{_fmt(cand)} is above the maximum {_fmt(hi)}")
        if prod is not None and not (isinstance(prod, float) and math.isnan(prod)):
            row.improvement = (cand - prod) if hib else (prod - cand)
            # a tolerance for float noise when comparing a model with itself
            if need is not None and row.improvement < need - 1e-12 * max(1.0, abs(prod)):
                row.passed = False
                if need == 0:
                    row.reasons.append(f"{_fmt(cand)} is worse than production's {_fmt(prod)}")
                else:
                    row.reasons.append(
                        f"improves on production ({_fmt(prod)}) by {_fmt(row.improvement)}, needs {_fmt(need)}"
                    )
        rows.append(row)
    return GateResult(all(r.passed for r in rows), rows, production is not None)


def table_rows(result: GateResult) -> tuple[list[list[Any]], list[str]]:
    """Rows and header of the comparison table (for ``console.table``)."""
    header = ["metric", "candidate", "production", "improvement", "threshold", "min improvement", "result"]
    rows = []
    for r in result.rows:
        bound = []
        if r.min is not None:
            bound.append(f">= {_fmt(r.min)}")
        if r.max is not None:
            bound.append(f"<= {_fmt(r.max)}")
        rows.append(
            [
                r.metric + (" (higher is better)" if r.higher_is_better else ""),
                _fmt(r.candidate),
                _fmt(r.production),
                _fmt(r.improvement),
                ", ".join(bound) or "-",
                _fmt(r.min_improvement),
                "ok" if r.passed else "FAIL",
            ]
        )
    return rows, header


def previous_holder(log: list[Mapping[str, Any]], current: int) -> int | None:
    """The version to roll back to from ``current``, given the promotions log of one model and slot.

    The log is a stack: the latest ``promote`` that gave the slot to ``current``
    names the version it replaced. Rollbacks are logged as ``rollback`` rows and
    are not followed, so rolling back twice walks further back (v3 -> v2 -> v1).
    """
    best = None
    for n, row in enumerate(log):
        if row.get("action") != "promote" or row.get("version") is None:
            continue
        if int(row["version"]) != int(current):
            continue
        key = (row.get("promoted_at"), n)
        if best is None or key >= best[0]:
            best = (key, row)
    if best is None:
        return None
    prev = best[1].get("previous_version")
    try:
        return None if prev is None else int(prev)
    except (TypeError, ValueError):  # NaN or pandas.NA: no previous holder
        return None
