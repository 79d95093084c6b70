"""The Data Factory re-check: a retrain candidate against production on its evaluation window.

The retrain pipeline (docs/adf.md) runs the monitor notebook in ``recheck`` mode
with the retrain notebook's exit value; :func:`recheck_candidate` evaluates the
candidate and production on the same labelled rows and says whether the candidate
is in range by ``monitoring.metrics``, improves on production's primary metric and
passes the promotion gate. The notebook names it through :mod:`devops_mlops.ops.monitor`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ..core import monitoring as mon
from ..core.promotion import decide, gate_metrics
from .candidates import parse_candidate
from .model_validate import evaluate
from .monitor_checks import json_value
from .session import Session

if TYPE_CHECKING:
    from ..context import Context


@dataclass
class Recheck:
    """A retrain candidate evaluated on the latest labelled window (the Data Factory re-check)."""

    model: str
    candidate: str
    attempt: str
    batch: int
    rows: int
    metrics: dict[str, float]
    production_version: int | None
    production_metrics: dict[str, float] | None
    out_of_range: list[str]
    improved: bool
    gate_passed: bool
    reasons: list[str]

    @property
    def ok(self) -> bool:
        return not self.out_of_range and self.improved and self.gate_passed

    def to_dict(self) -> dict[str, Any]:
        """The exit value: its JSON text contains ``violation`` exactly when the candidate fails."""
        doc = {"mode": "recheck", "status": mon.OK if self.ok else mon.VIOLATION, **asdict(self)}
        doc["metrics"] = {k: json_value(v) for k, v in self.metrics.items()}
        return doc

    def summary(self) -> str:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in sorted(self.metrics.items()))
        verdict = "in range, improves and passes the gate" if self.ok else "still failing: " + "; ".join(self.reasons)
        return f"candidate {self.candidate} (try {self.attempt or '-'}) on batch {self.batch}: {shown}: {verdict}"


def recheck_candidate(ctx: Context, candidate: str, *, attempt: Any = None) -> Recheck:
    """Evaluate ``candidate`` (the retrain notebook's exit value, or a model URI / run id / version) and
    production on the candidate's evaluation window (default: the latest labelled batch): in range by
    ``monitoring.metrics``, better than production on the primary metric, and through the gate."""
    cfg = ctx.config
    s = Session(ctx)
    c = parse_candidate(candidate)
    batch = int(c["eval_batch"]) if c.get("eval_batch") not in (None, "") else s.labelled_batches()[-1]
    frame = s.evaluation_frame(batch)
    names = gate_metrics(cfg.promotion.thresholds, cfg.promotion.min_improvement, cfg.model.primary_metric)
    names += [r.name for r in cfg.monitoring.metrics if r.name not in names]
    kwargs = {"label": cfg.model.label, "keys": list(cfg.model.keys), "names": names}
    registry = ctx.registry
    uri = c["candidate"] or registry.model_uri(cfg.model.name, int(c["version"]))
    ctx.console.progress(f"re-check: evaluating {uri} on batch {batch} ({len(frame)} rows)")
    metrics = evaluate(registry.load_model(uri), frame, **kwargs)
    holder = registry.holder(cfg.model.name, "production")
    prod = evaluate(registry.load_model(cfg.model.name, holder.version), frame, **kwargs) if holder else None
    reasons, out = [], []
    for r in cfg.monitoring.metrics:
        if mon.status_of(metrics.get(r.name), r.min, r.max) != mon.OK:
            out.append(r.name)
            reasons.append(f"{r.name} {metrics.get(r.name, float('nan')):.4g} out of range")
    primary = cfg.model.primary_metric
    improved = mon.improves(metrics[primary], (prod or {}).get(primary), higher_is_better=cfg.model.higher_is_better)
    if not improved:
        reasons.append(f"{primary} {metrics[primary]:.4g} does not improve on production's {prod[primary]:.4g}")
    gate = decide(
        metrics,
        prod,
        thresholds=cfg.promotion.thresholds,
        min_improvement=cfg.promotion.min_improvement,
        primary=primary,
        primary_higher_is_better=cfg.model.higher_is_better,
    )
    if not gate.passed:
        reasons.append("gate " + gate.summary())
    return Recheck(
        cfg.model.name,
        uri,
        "" if attempt is None else str(attempt),
        batch,
        len(frame),
        metrics,
        int(holder.version) if holder else None,
        prod,
        out,
        improved,
        gate.passed,
        reasons,
    )
