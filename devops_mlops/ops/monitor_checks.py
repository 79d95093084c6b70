"""Monitoring checks: the metrics of the latest labelled window, and a Data Factory pipeline's settings.

:func:`check_metrics` computes the configured metrics of the production model on
the latest labelled window (predictions joined with the labels that arrived),
writes them to ``metrics`` (long format, one row per metric; evaluating a window
again replaces its rows), then applies the V-of-last-K rule over the windows the
current production version scored (:mod:`devops_mlops.core.monitoring`).
:func:`check_pipeline_params` refuses a Data Factory pipeline exported from
another configuration. Both are named by the monitor notebook through
:mod:`devops_mlops.ops.monitor`.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import killpoint
from ..core import metrics as metric_lib
from ..core import monitoring as mon
from ..errors import InputError
from . import tables as T

if TYPE_CHECKING:
    from ..context import Context


@dataclass
class MetricsCheck:
    """The metrics of one window and the rule's decision on them (``batch`` None: no window yet)."""

    model: str
    version: int | None
    batch: int | None
    window_start: str | None
    window_end: str | None
    rows: list[dict[str, Any]]
    decision: mon.Decision
    dry_run: bool = False

    @property
    def retrain_needed(self) -> bool:
        return self.decision.retrain

    def values(self) -> dict[str, float]:
        return {r["metric"]: r["value"] for r in self.rows}

    def _head(self) -> dict[str, Any]:
        """What the JSON result and the notebook's verdict both open with."""
        return {
            "status": mon.VIOLATION if self.retrain_needed else mon.OK,
            "retrain_needed": self.retrain_needed,
            "model": self.model,
            "version": self.version,
            "batch": self.batch,
            "window": {"start": self.window_start, "end": self.window_end},
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self._head(),
            "metrics": [
                {k: r[k] for k in ("metric", "value", "threshold_min", "threshold_max", "status")} for r in self.rows
            ],
            "rule": self.decision.to_dict(),
        }

    def verdict(self) -> dict[str, Any]:
        """The check notebook's exit value for Data Factory (docs/adf.md): its JSON text contains
        ``violation`` exactly when the rule calls for retraining (``to_dict`` does not promise that:
        its per-window details name violations even in range)."""
        return {
            "mode": "check",
            **self._head(),
            "metrics": {r["metric"]: json_value(r["value"]) for r in self.rows},
            "out_of_range": self.decision.triggered,
        }

    def summary(self) -> str:
        if self.batch is None:
            return "no labelled window with predictions yet: nothing to evaluate"
        shown = ", ".join(f"{r['metric']}={r['value']:.4g} ({r['status']})" for r in self.rows)
        verdict = "out of range: retraining needed" if self.retrain_needed else "in range"
        return f"{self.model} v{self.version} on {self.window_start}..{self.window_end} (batch {self.batch}): {shown}: {verdict}"


def json_value(v: Any) -> Any:
    """``v`` as JSON can hold it (NaN becomes null)."""
    return None if isinstance(v, float) and v != v else v  # noqa: PLR0124 - NaN is not JSON


def latest_window(ctx: Context, tables: Any) -> int | None:
    """The newest batch with both predictions and labels."""
    labels = ctx.config.model.labels_table
    both = set(T.table_batches(tables, T.PREDICTIONS)) & set(T.table_batches(tables, labels))
    return max(both) if both else None


def window_metrics(ctx: Context, tables: Any, batch: int, *, run_id: str = "") -> list[dict[str, Any]]:
    """The metric rows of ``batch`` (predictions joined with labels), as written to ``metrics``."""
    import pandas as pd

    cfg = ctx.config
    keys = list(cfg.model.keys)
    preds = tables.read(T.PREDICTIONS, where={"batch_id": batch})
    labels = tables.read(cfg.model.labels_table, where={"batch_id": batch})
    for frame in (preds, labels):
        if "date" in frame.columns:
            frame["date"] = pd.to_datetime(frame["date"]).dt.date
    joined = preds.merge(labels[keys + [cfg.model.label]], on=keys, how="inner")
    if len(joined) == 0:
        raise InputError(f"batch {batch}: no prediction matches a label (keys {', '.join(keys)})")
    versions = sorted(int(v) for v in joined["model_version"].unique())
    if "date" in joined.columns:
        dates = pd.to_datetime(joined["date"])
        start, end = dates.min().date().isoformat(), dates.max().date().isoformat()
    else:
        start = end = f"batch-{batch:06d}"
    now = _dt.datetime.now(_dt.UTC)
    rows = []
    for rule in cfg.monitoring.metrics:
        value = metric_lib.compute(rule.name, joined[cfg.model.label].to_numpy(), joined["prediction"].to_numpy())
        rows.append(
            {
                "evaluated_at": now,
                "model_name": cfg.model.name,
                "model_version": versions[-1],
                "window_start": start,
                "window_end": end,
                "metric": rule.name,
                "value": float(value),
                "threshold_min": float("nan") if rule.min is None else float(rule.min),
                "threshold_max": float("nan") if rule.max is None else float(rule.max),
                "status": mon.status_of(value, rule.min, rule.max),
                "run_id": run_id,
                "batch_id": int(batch),
                "rows": len(joined),
            }
        )
    return rows


def check_metrics(ctx: Context, *, tables: Any = None, batch: int | None = None, run_id: str = "") -> MetricsCheck:
    """Evaluate the latest labelled window (or ``batch``), record its metrics, apply the rule."""
    import pandas as pd

    tables = tables if tables is not None else ctx.tables
    cfg = ctx.config
    if not cfg.monitoring.metrics:
        raise InputError("monitoring.metrics is empty: nothing to monitor", path=cfg.path)
    holder = ctx.registry.holder(cfg.model.name, "production")
    version = int(holder.version) if holder else None
    batch = latest_window(ctx, tables) if batch is None else batch
    if batch is None:
        return MetricsCheck(cfg.model.name, version, None, None, None, [], mon.Decision(False, None), ctx.dry_run)
    rows = window_metrics(ctx, tables, batch, run_id=run_id)
    if not ctx.dry_run:
        tables.replace_where(T.METRICS, pd.DataFrame(rows), column="batch_id", value=int(batch))
        killpoint.reached("monitor.metrics")
        history = tables.read(T.METRICS, where={"model_name": cfg.model.name})
    else:
        old = (
            tables.read(T.METRICS, where={"model_name": cfg.model.name}) if tables.exists(T.METRICS) else pd.DataFrame()
        )
        keep = old[old["batch_id"] != batch] if len(old) else old
        history = pd.concat([keep, pd.DataFrame(rows)], ignore_index=True)
    # the rule looks at the windows the current production version scored
    current = version if version is not None else rows[0]["model_version"]
    scoped = history[history["model_version"] == current] if len(history) else history
    decision = mon.decide(
        scoped.to_dict("records"),
        evaluate=cfg.monitoring.windows.evaluate,
        violations=cfg.monitoring.windows.violations,
    )
    return MetricsCheck(
        cfg.model.name, current, batch, rows[0]["window_start"], rows[0]["window_end"], rows, decision, ctx.dry_run
    )


def check_pipeline_params(ctx: Context, params: dict[str, str]) -> None:
    """InputError when the monitoring settings a Data Factory pipeline passes (``model_name``,
    ``metrics``, ``windows_evaluate``, ``windows_violations``; empty ones are not checked) differ
    from mlops.yaml's: the pipelines were exported from another configuration."""
    m = ctx.config.monitoring
    rules = [
        {"name": r.name, **({"min": r.min} if r.min is not None else {}), **({"max": r.max} if r.max is not None else {})}
        for r in m.metrics
    ]
    want = {
        "model_name": ctx.config.model.name,
        "metrics": rules,
        "windows_evaluate": str(m.windows.evaluate),
        "windows_violations": str(m.windows.violations),
    }
    for key, expected in want.items():
        given = (params.get(key) or "").strip()
        if not given:
            continue
        if key == "metrics":
            try:
                given = json.loads(given)
            except ValueError:
                raise InputError(f"pipeline parameter metrics: not JSON: {given[:120]!r}") from None
        if given != expected:
            raise InputError(
                f"pipeline parameter {key} {given!r} differs from mlops.yaml ({expected!r})",
                path=ctx.config.path,
                hint="export the Data Factory pipelines again (mlops adf export) after changing monitoring:",
            )
