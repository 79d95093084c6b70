"""Use case: `mlops report`, an HTML page with a PNG chart of the monitoring metrics.

One panel per monitored metric: its value per window (coloured by the model
version that scored it), the configured thresholds as dashed lines, violations
in red, and the retrain loop's events as vertical lines (green: a retrained
version promoted; red: the "model needs retraining" alert). The page lists the
metric rows and the retrain tries; with the PNG next to it, the folder is ready
to publish as a pipeline artifact.
"""

from __future__ import annotations

import html
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..console import mask
from . import tables as T

if TYPE_CHECKING:
    from ..config import Config
    from ..context import Context


@dataclass
class ReportResult:
    """Where the page and the chart are, and what they show."""

    html: str
    png: str
    windows: int
    metrics: list[str]
    retrains: int
    alerts: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        return [
            (
                f"report: {self.html} (chart {self.png}): {self.windows} window(s), "
                f"{self.retrains} retrained version(s), {self.alerts} alert(s)"
            )
        ] + [f"note: {n}" for n in self.notes]


def _read(tables: Any, name: str, model: str) -> Any:
    import pandas as pd

    if not tables.exists(name):
        return pd.DataFrame()
    return tables.read(name, where={"model_name": model})


def write_report(ctx: Context, *, output: str | Path | None = None, tables: Any = None) -> ReportResult:
    """Write ``index.html`` and ``metrics.png`` into ``output`` (default .mlops/report) from the
    ``metrics`` and ``retrain_attempts`` tables; under --dry-run only say what they would show."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    tables = tables if tables is not None else ctx.tables
    cfg = ctx.config
    out_dir = Path(output) if output else ctx.state_dir / "report"
    out_dir = out_dir if out_dir.is_absolute() else ctx.root / out_dir
    png, page = out_dir / "metrics.png", out_dir / "index.html"
    metrics = _read(tables, T.METRICS, cfg.model.name)
    events = _read(tables, T.RETRAIN_ATTEMPTS, cfg.model.name)
    names = [r.name for r in cfg.monitoring.metrics]
    if not names and len(metrics):
        names = sorted(metrics["metric"].unique())
    notes = [] if len(metrics) else ["no metrics recorded yet: run `mlops monitor` after labels arrive"]
    promoted = events[events["event"] == "promoted"] if len(events) else events
    alerted = events[events["event"] == "alerted"] if len(events) else events
    result = ReportResult(
        str(page),
        str(png),
        int(metrics["window_end"].nunique()) if len(metrics) else 0,
        list(names),
        len(promoted),
        len(alerted),
        notes,
    )
    if ctx.dry_run:
        return result
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(max(1, len(names)), 1, figsize=(10, 3.2 * max(1, len(names))), sharex=True, squeeze=False)
    if len(metrics):
        metrics = metrics.sort_values(["window_end", "evaluated_at"]).drop_duplicates(
            ["metric", "window_end"], keep="last"
        )
        metrics["end"] = pd.to_datetime(metrics["window_end"])
    for ax, name in zip(axes[:, 0], names or ["(no metrics)"]):
        rows = metrics[metrics["metric"] == name] if len(metrics) else metrics
        if len(rows):
            ax.plot(rows["end"], rows["value"], color="#555", lw=1, zorder=1)
            for version, part in rows.groupby("model_version"):
                ax.scatter(part["end"], part["value"], label=f"v{version}", zorder=2, s=28)
            bad = rows[rows["status"] == "violation"]
            ax.scatter(
                bad["end"],
                bad["value"],
                facecolors="none",
                edgecolors="red",
                s=110,
                lw=1.5,
                zorder=3,
                label="violation",
            )
            for col, label in (("threshold_min", "min"), ("threshold_max", "max")):
                value = rows[col].dropna()
                if len(value) and not math.isnan(float(value.iloc[-1])):
                    ax.axhline(
                        float(value.iloc[-1]), ls="--", color="orange", lw=1, label=f"{label} {value.iloc[-1]:g}"
                    )
        for _, e in promoted.iterrows():
            ax.axvline(pd.to_datetime(e["window_end"]), color="green", lw=1.2, alpha=0.7)
            ax.annotate(
                f"retrained v{int(e['version'])}",
                (pd.to_datetime(e["window_end"]), ax.get_ylim()[1]),
                fontsize=8,
                color="green",
                va="top",
                rotation=90,
            )
        for _, e in alerted.iterrows():
            ax.axvline(pd.to_datetime(e["window_end"]), color="red", lw=1.2, alpha=0.7)
            ax.annotate(
                "alert",
                (pd.to_datetime(e["window_end"]), ax.get_ylim()[1]),
                fontsize=8,
                color="red",
                va="top",
                rotation=90,
            )
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize=7, ncol=4)
    axes[0, 0].set_title(f"{cfg.model.name}: monitoring metrics per window")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
    tmp = page.with_suffix(".tmp")
    tmp.write_text(mask(_html(cfg, metrics, events)), encoding="utf-8")
    tmp.replace(page)
    return result


def _table(frame: Any, columns: list[str]) -> str:
    if frame is None or not len(frame):
        return "<p>none</p>"
    cols = [c for c in columns if c in frame.columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for _, row in frame[cols].iterrows():
        cells = []
        for c in cols:
            v = row[c]
            text = f"{v:.4g}" if isinstance(v, float) else str(v)
            style = (
                ' class="bad"' if str(v) in ("violation", "gate-failed", "not-improved", "failed", "alerted") else ""
            )
            cells.append(f"<td{style}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _html(cfg: Config, metrics: Any, events: Any) -> str:
    tries = (
        events[events["event"].isin(["finished", "promoted", "committed", "scored", "alerted"])]
        if len(events)
        else events
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(cfg.project)}: monitoring</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 6px}}.bad{{color:#b00;font-weight:bold}}</style></head>
<body><h1>{html.escape(cfg.model.name)}: monitoring metrics</h1>
<img src="metrics.png" alt="metrics over time" style="max-width:100%">
<h2>Retrain loop</h2>
{_table(tries, ["loop_id", "attempt", "event", "outcome", "version", "metrics", "detail", "at"])}
<h2>Metrics</h2>
{_table(metrics, ["window_start", "window_end", "model_version", "metric", "value", "threshold_min", "threshold_max", "status", "evaluated_at"])}
</body></html>
"""
