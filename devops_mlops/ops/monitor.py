"""Use case: monitoring, and the bounded retrain loop (`mlops monitor`).

1. :func:`check_metrics`: the configured metrics of the production model on the
   latest labelled window (predictions joined with the labels that arrived),
   written to ``metrics`` (long format, one row per metric; evaluating a window
   again replaces its rows), then checked with the V-of-last-K rule over the
   windows the current production version scored (:mod:`devops_mlops.core.monitoring`).
2. In range: done. Out of range: the retrain loop, at most N tries
   (``monitoring.max_retrains`` or ``--max-retrains``). A try that improves on
   production (primary metric, same window) is registered and gated (the
   registry's ``validate``); the first that passes is promoted, the retrain
   notebook and a provenance record are committed (skip-ci marker), and the
   batches waiting for labels are scored again with it. No try within N: the
   alert "model needs retraining" goes to every channel; exit 1.

The loop's state is the ``retrain_attempts`` table, an append-only event log
(see :func:`devops_mlops.core.monitoring.fold`): a crash and a re-run continue
the unfinished loop, never exceed N tries and never promote twice.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .. import killpoint
from ..core import metrics as metric_lib
from ..core import monitoring as mon
from ..errors import CheckFailed, InputError, MlopsError
from ..runtime import tables as T


# ----------------------------------------------------------------------------- 1. metrics
@dataclass
class MetricsCheck:
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": mon.VIOLATION if self.retrain_needed else mon.OK,
            "retrain_needed": self.retrain_needed,
            "model": self.model,
            "version": self.version,
            "batch": self.batch,
            "window": {"start": self.window_start, "end": self.window_end},
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
            "status": mon.VIOLATION if self.retrain_needed else mon.OK,
            "retrain_needed": self.retrain_needed,
            "model": self.model,
            "version": self.version,
            "batch": self.batch,
            "window": {"start": self.window_start, "end": self.window_end},
            "metrics": {r["metric"]: _json_value(r["value"]) for r in self.rows},
            "out_of_range": self.decision.triggered,
        }

    def summary(self) -> str:
        if self.batch is None:
            return "no labelled window with predictions yet: nothing to evaluate"
        shown = ", ".join(f"{r['metric']}={r['value']:.4g} ({r['status']})" for r in self.rows)
        verdict = "out of range: retraining needed" if self.retrain_needed else "in range"
        return f"{self.model} v{self.version} on {self.window_start}..{self.window_end} (batch {self.batch}): {shown}: {verdict}"


def _json_value(v: Any) -> Any:
    return None if isinstance(v, float) and v != v else v  # noqa: PLR0124 - NaN is not JSON


def latest_window(ctx, tables) -> int | None:
    """The newest batch with both predictions and labels."""
    labels = ctx.config.model.labels_table
    both = set(T.table_batches(tables, T.PREDICTIONS)) & set(T.table_batches(tables, labels))
    return max(both) if both else None


def window_metrics(ctx, tables, batch: int, *, run_id: str = "") -> list[dict[str, Any]]:
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


def check_metrics(ctx, *, tables: Any = None, batch: int | None = None, run_id: str = "") -> MetricsCheck:
    """Steps 1-2: evaluate the latest labelled window, record it, apply the rule."""
    import pandas as pd

    tables = tables if tables is not None else T.tables_for(ctx)
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


def check_pipeline_params(ctx, params: dict[str, str]) -> None:
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
        doc["metrics"] = {k: _json_value(v) for k, v in self.metrics.items()}
        return doc

    def summary(self) -> str:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in sorted(self.metrics.items()))
        verdict = "in range, improves and passes the gate" if self.ok else "still failing: " + "; ".join(self.reasons)
        return f"candidate {self.candidate} (try {self.attempt or '-'}) on batch {self.batch}: {shown}: {verdict}"


def recheck_candidate(ctx, candidate: str, *, attempt: Any = None) -> Recheck:
    """Evaluate ``candidate`` (the retrain notebook's exit value, or a model URI / run id / version) and
    production on the candidate's evaluation window (default: the latest labelled batch): in range by
    ``monitoring.metrics``, better than production on the primary metric, and through the gate."""
    import mlflow.pyfunc

    from ..core.promotion import decide, gate_metrics
    from ..runtime.api import Session
    from ..runtime.candidates import parse_candidate
    from .model_validate import evaluate

    cfg = ctx.config
    s = Session(ctx)
    c = parse_candidate(candidate)
    batch = int(c["eval_batch"]) if c.get("eval_batch") not in (None, "") else s.labelled_batches()[-1]
    frame = s.evaluation_frame(batch)
    names = gate_metrics(cfg.promotion.thresholds, cfg.promotion.min_improvement, cfg.model.primary_metric)
    names += [r.name for r in cfg.monitoring.metrics if r.name not in names]
    kwargs = {"label": cfg.model.label, "keys": list(cfg.model.keys), "names": names}
    registry = ctx.registry
    registry.activate()
    uri = c["candidate"] or registry.model_uri(cfg.model.name, int(c["version"]))
    ctx.console.progress(f"re-check: evaluating {uri} on batch {batch} ({len(frame)} rows)")
    metrics = evaluate(mlflow.pyfunc.load_model(uri, suppress_warnings=True), frame, **kwargs)
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


# ----------------------------------------------------------------------------- 2. the loop
@dataclass
class MonitorResult:
    check: MetricsCheck
    outcome: str  # in-range | nothing-to-evaluate | retrained | alerted | planned
    max_tries: int = 0
    loop_id: str | None = None
    resumed: bool = False
    base_version: int | None = None
    eval_batch: int | None = None
    tries: list[dict[str, Any]] = field(default_factory=list)
    promoted_version: int | None = None
    commit: str | None = None
    #: where the auto-commit went: "committed 1a2b3c on mlops/retrain-m-v2, not pushed (...)"
    commit_summary: str | None = None
    commit_branch: str | None = None
    pushed: bool = False
    scored_batches: list[int] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    retrainer: str | None = None
    notes: list[str] = field(default_factory=list)
    exit_code: int = 0

    def to_dict(self) -> dict[str, Any]:
        doc = {k: v for k, v in asdict(self).items() if k != "check"}
        doc["check"] = self.check.to_dict()
        return doc

    def lines(self) -> list[str]:
        out = [self.check.summary()]
        if self.loop_id:
            out.append(
                f"retrain loop {self.loop_id}"
                + (" (resumed)" if self.resumed else "")
                + f": at most {self.max_tries} tries"
            )
        for t in self.tries:
            m = ", ".join(f"{k}={v:.4g}" for k, v in sorted(t.get("metrics", {}).items()))
            version = f" -> v{t['version']}" if t.get("version") else ""
            out.append(
                f"  try {t['attempt']}: {t['outcome']}{version} {m}".rstrip()
                + (f" ({t['detail']})" if t.get("detail") else "")
            )
        if self.outcome == "retrained":
            out.append(
                f"promoted v{self.promoted_version} to production; {self.commit_summary or f'committed {self.commit}'}; "
                f"re-scored batch(es) {', '.join(map(str, self.scored_batches)) or '-'}"
            )
        elif self.outcome == "alerted":
            sent = ", ".join(f"{d['channel']}: {'ok' if d['ok'] else 'FAILED'} {d['detail']}" for d in self.deliveries)
            out.append(f"model needs retraining: no try improved and passed the gate; alert: {sent or 'already sent'}")
        elif self.outcome == "planned":
            out.append(f"dry run: would retrain up to {self.max_tries} time(s)")
        out.extend(f"note: {n}" for n in self.notes)
        return out


class EventLog:
    """The loop's events in ``retrain_attempts`` (append-only)."""

    def __init__(
        self,
        ctx,
        tables,
        loop_id: str,
        *,
        base_version: int | None,
        window_end: str,
        eval_batch: int,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.ctx, self.tables, self.loop_id = ctx, tables, loop_id
        self.base_version, self.window_end, self.eval_batch = base_version, window_end, eval_batch
        self.on_event = on_event
        self.events = [e for e in read_events(ctx, tables) if e["loop_id"] == loop_id]

    def state(self) -> mon.LoopState:
        return mon.fold(self.loop_id, self.events)

    def record(
        self,
        event: str,
        attempt: int = 0,
        *,
        outcome: str = "",
        run_id: str = "",
        version: int | None = None,
        metrics: dict[str, float] | None = None,
        improved: bool | None = None,
        gate_passed: bool | None = None,
        detail: str = "",
        train_batches: list[int] | None = None,
    ) -> None:
        import pandas as pd

        row = {
            "loop_id": self.loop_id,
            "seq": len(self.events) + 1,
            "at": _dt.datetime.now(_dt.UTC),
            "model_name": self.ctx.config.model.name,
            "base_version": int(self.base_version or 0),
            "window_end": self.window_end,
            "eval_batch": int(self.eval_batch),
            "attempt": int(attempt),
            "event": event,
            "outcome": outcome,
            "run_id": run_id or "",
            "version": int(version or 0),
            "metrics": json.dumps(metrics or {}, sort_keys=True),
            "improved": "" if improved is None else str(bool(improved)).lower(),
            "gate_passed": "" if gate_passed is None else str(bool(gate_passed)).lower(),
            "detail": detail,
            "train_batches": ",".join(str(b) for b in train_batches or []),
        }
        self.tables.append(T.RETRAIN_ATTEMPTS, pd.DataFrame([row]))
        self.events.append(row)
        if self.on_event is not None:
            self.on_event(row)


def read_events(ctx, tables) -> list[dict[str, Any]]:
    if not tables.exists(T.RETRAIN_ATTEMPTS):
        return []
    frame = tables.read(T.RETRAIN_ATTEMPTS, where={"model_name": ctx.config.model.name})
    return frame.to_dict("records")


def unfinished_loop(ctx, tables) -> dict[str, Any] | None:
    """The newest loop of this model that neither promoted-and-scored nor alerted (a crash)."""
    events = read_events(ctx, tables)
    last: dict[str, dict[str, Any]] = {}
    for e in events:
        last[e["loop_id"]] = e
    for lid in sorted(last, key=lambda k: str(last[k]["at"]), reverse=True):
        if not mon.fold(lid, events).finished:
            return last[lid]
    return None


def monitor(
    ctx,
    *,
    max_retrains: int | None = None,
    retrainer: Any = None,
    tables: Any = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> MonitorResult:
    """Check the metrics; when out of range run (or resume) the bounded retrain loop."""
    from .retrain import retrainer_for

    tables = tables if tables is not None else T.tables_for(ctx)
    cfg = ctx.config
    max_tries = cfg.monitoring.max_retrains if max_retrains is None else int(max_retrains)
    if max_tries < 0:
        raise InputError("--max-retrains must be 0 or more")
    check = check_metrics(ctx, tables=tables)
    result = MonitorResult(check, "in-range", max_tries=max_tries)
    pending = None if ctx.dry_run else unfinished_loop(ctx, tables)
    if pending is not None:
        result.resumed = True
        lid, base, window_end, eval_batch = (
            pending["loop_id"],
            int(pending["base_version"]) or None,
            str(pending["window_end"]),
            int(pending["eval_batch"]),
        )
    elif check.batch is None:
        result.outcome = "nothing-to-evaluate"
        return _pipeline_outputs(ctx, result)
    elif not check.retrain_needed:
        return _pipeline_outputs(ctx, result)
    else:
        base, window_end, eval_batch = check.version, str(check.window_end), int(check.batch)
        lid = mon.loop_id(cfg.model.name, base, window_end)
    result.loop_id, result.base_version, result.eval_batch = lid, base, eval_batch
    if ctx.dry_run:
        from .commit import push_decision

        result.outcome = "planned"
        d = push_decision(ctx, explicit=False)
        result.notes.append("the retrain commit of an improved model would be "
                            + ("pushed" if d.push else "kept on a local branch, not pushed") + f" ({d.reason})")
        return _pipeline_outputs(ctx, result)
    log = EventLog(ctx, tables, lid, base_version=base, window_end=window_end, eval_batch=eval_batch, on_event=on_event)
    retrainer = retrainer if retrainer is not None else retrainer_for(ctx)
    result.retrainer = getattr(retrainer, "name", type(retrainer).__name__)
    loop = _Loop(ctx, tables, log, retrainer, result)
    while True:
        action = mon.next_action(log.state(), max_tries)
        if action.kind == "done":
            break
        getattr(loop, action.kind)(action)
    state = log.state()
    result.tries = [asdict(t) for t in state.tries]
    if state.winner is not None:
        result.outcome = "retrained"
        result.promoted_version = state.promoted
        result.commit = state.committed
    else:
        result.outcome = "alerted"
        if not result.deliveries:
            result.notes.append("the alert for this window was sent by an earlier run")
        result.exit_code = 1
    return _pipeline_outputs(ctx, result)


def _pipeline_outputs(ctx, result: MonitorResult) -> MonitorResult:
    needed = result.outcome in ("retrained", "alerted", "planned")
    ctx.console.vso("task.setvariable", "true" if needed else "false", variable="retrainNeeded", isOutput="true")
    if result.outcome == "alerted":
        ctx.console.vso("build.addbuildtag", "model-needs-retraining")
        if ctx.config.monitoring.warn_only:
            from ..console import in_pipeline

            if in_pipeline():
                ctx.console.vso("task.complete", "model needs retraining", result="SucceededWithIssues")
                result.exit_code = 0
    elif result.outcome == "retrained":
        ctx.console.vso("build.addbuildtag", f"retrained-v{result.promoted_version}")
    return result


class _Loop:
    """The side effects of each action of the state machine."""

    def __init__(self, ctx, tables, log: EventLog, retrainer, result: MonitorResult):
        self.ctx, self.tables, self.log, self.retrainer, self.result = ctx, tables, log, retrainer, result
        self.cfg = ctx.config
        self.validation = None

    def _session(self):
        from ..runtime.api import Session

        return Session(self.ctx, tables=self.tables)

    def _eval_frame(self):
        return self._session().evaluation_frame(self.log.eval_batch)

    def _production_metrics(self) -> dict[str, float]:
        if not self.tables.exists(T.METRICS):
            return {}
        rows = self.tables.read(T.METRICS, where={"batch_id": self.log.eval_batch, "model_name": self.cfg.model.name})
        if self.log.base_version:
            rows = rows[rows["model_version"] == self.log.base_version]
        return {r["metric"]: float(r["value"]) for r in rows.to_dict("records")}

    def train(self, action: mon.Action) -> None:
        attempt = int(action.attempt or 1)
        self.ctx.console.progress(f"retrain try {attempt} ({self.retrainer.name})")
        again = any(t.attempt == attempt for t in self.log.state().tries)
        self.log.record("started", attempt, detail="again: the run that started it was interrupted" if again else "")
        killpoint.reached("monitor.started")
        try:
            out = self.retrainer.run(self.ctx, attempt, self.log.eval_batch)
        except MlopsError as exc:
            self.log.record("finished", attempt, outcome=mon.FAILED, detail=exc.one_line())
            return
        killpoint.reached("monitor.trained")
        metrics = {k: float(v) for k, v in out["metrics"].items()}
        primary = self.cfg.model.primary_metric
        current = self._production_metrics().get(primary)
        improved = primary in metrics and mon.improves(
            metrics[primary], current, higher_is_better=self.cfg.model.higher_is_better
        )
        if not improved:
            detail = f"{primary} {metrics.get(primary, float('nan')):.4g} vs production {current if current is not None else '-'}"
            self.log.record(
                "finished",
                attempt,
                outcome=mon.NOT_IMPROVED,
                run_id=out["run_id"],
                metrics=metrics,
                improved=False,
                detail=detail,
                train_batches=out.get("train_batches"),
            )
            return
        version = self._register(out, attempt)
        killpoint.reached("monitor.registered")
        from .model import validate

        self.validation = validate(self.ctx, version, self._eval_frame())
        passed = self.validation.passed
        self.ctx.registry.set_tags(
            self.cfg.model.name,
            version,
            {
                "mlops.retrain.loop": self.log.loop_id,
                "mlops.retrain.attempt": str(attempt),
                "mlops.retrain.gate": "passed" if passed else "failed",
            },
        )
        self.log.record(
            "finished",
            attempt,
            outcome=mon.PASSED if passed else mon.GATE_FAILED,
            run_id=out["run_id"],
            version=version,
            metrics=metrics,
            improved=True,
            gate_passed=passed,
            detail="" if passed else _gate_text(self.validation),
            train_batches=out.get("train_batches"),
        )

    def _register(self, out: dict[str, Any], attempt: int) -> int:
        name = self.cfg.model.name
        for known in self.ctx.registry.get_model(name, with_metrics=False):
            tagged = known.tags.get("mlops.retrain.loop"), known.tags.get("mlops.retrain.attempt")
            if tagged == (self.log.loop_id, str(attempt)):  # registered by a run killed before it recorded the try
                out["run_id"] = known.run_id or out["run_id"]
                return int(known.version)
        tags = {
            "mlops.retrain.loop": self.log.loop_id,
            "mlops.retrain.attempt": str(attempt),
            "mlops.train_batches": ",".join(str(b) for b in out.get("train_batches", [])),
            "mlops.eval_batch": str(out.get("eval_batch", self.log.eval_batch)),
        }
        return self._session().register(out.get("model_uri") or f"runs:/{out['run_id']}/model", tags=tags)

    def promote(self, action: mon.Action) -> None:
        from .model import promote

        version = int(action.version)
        self.ctx.console.progress(f"promoting v{version} to production")
        if self.validation is not None and self.validation.version == version:
            promote(self.ctx, version, "production", validation=self.validation)
        else:  # resumed: validate again on the same window
            promote(self.ctx, version, "production", eval_frame=self._eval_frame())
        killpoint.reached("monitor.promoted")
        self.log.record("promoted", action.attempt or 0, version=version)
        self.result.promoted_version = version

    def commit(self, action: mon.Action) -> None:
        from .commit import commit_notebooks

        notebook = self.cfg.monitoring.retrain_notebook
        if not notebook:
            self.log.record(
                "committed",
                action.attempt or 0,
                version=action.version,
                detail="skipped: monitoring.retrain_notebook is not set",
            )
            return
        state = self.log.state()
        winner = state.winner
        from ..runtime.candidates import data_window

        production = self._production_metrics()
        trained_on = [int(b) for b in (winner.train_batches.split(",") if winner and winner.train_batches else [])]
        provenance = {
            "model": self.cfg.model.name,
            "version": action.version,
            "metrics": {
                k: {"candidate": v, "production": production.get(k)}
                for k, v in (winner.metrics if winner else {}).items()
            },
            "data_window": data_window(self.ctx, winner.run_id if winner else None, end=self.log.window_end),
            "retrain_loop": self.log.loop_id,
            "attempt": action.attempt,
            "run_id": winner.run_id if winner else None,
            "train_batches": trained_on,
        }
        try:
            done = commit_notebooks(self.ctx, [notebook], provenance=provenance, automation=True)
            # no change: this loop's provenance record is committed already (by a run killed after committing)
            detail = done.commit or (self.ctx.git.head() if done.provenance else None) or "no changes"
            self.result.commit_summary = done.summary()
            self.result.commit_branch = done.branch if done.pushed else done.committed_on
            self.result.pushed = done.pushed
            for note in getattr(done, "notes", []) or []:
                self.result.notes.append(note)
        except MlopsError as exc:
            detail = f"failed: {exc.one_line()}"
            self.result.notes.append(f"auto-commit failed: {exc.one_line()}")
        killpoint.reached("monitor.committed")
        self.log.record("committed", action.attempt or 0, version=action.version, detail=detail)

    def score(self, action: mon.Action) -> None:
        from .infer import infer

        waiting = [b for b in T.table_batches(self.tables, self.cfg.model.features_table) if b > self.log.eval_batch]
        if waiting:
            infer(self.ctx, batches=waiting, version=int(action.version), tables=self.tables)
        self.result.scored_batches = waiting
        killpoint.reached("monitor.scored")
        self.log.record(
            "scored",
            action.attempt or 0,
            version=action.version,
            detail=",".join(map(str, waiting)) or "no batch waiting for labels",
        )

    def alert(self, action: mon.Action) -> None:
        from ..ports.alerts import Alert

        state = self.log.state()
        name = self.cfg.model.name
        tries = [asdict(t) for t in state.tries]
        check = self.result.check
        summary = (
            f"{name} v{self.log.base_version}: the monitoring metrics are out of range on the window ending "
            f"{self.log.window_end} and {len(tries)} retraining tries did not bring a model that improves and passes the gate."
        )
        links = {
            "metrics table": self.tables.location(T.METRICS),
            "retrain attempts": self.tables.location(T.RETRAIN_ATTEMPTS),
        }
        from .commit import pipeline_run

        run = pipeline_run() or {}
        if run.get("url"):
            links["pipeline run"] = run["url"]
        alert = Alert(
            title=f"model needs retraining: {name}",
            model_name=name,
            summary=summary,
            metrics=[
                {k: r[k] for k in ("metric", "value", "threshold_min", "threshold_max", "status", "window_end")}
                for r in check.rows
            ],
            tries=tries,
            links=links,
            key=f"retrain-loop:{self.log.loop_id}",
        )
        deliveries = self.ctx.alerts.send(alert)
        self.result.deliveries = [asdict(d) for d in deliveries]
        killpoint.reached("monitor.alerted")
        self.log.record("alerted", 0, detail=json.dumps(self.result.deliveries, default=str)[:2000])


def _gate_text(validation) -> str:
    return "gate " + validation.gate.summary()


def raise_if_failed(result: MonitorResult) -> None:
    if result.exit_code:
        raise CheckFailed(f"model {result.check.model} needs retraining: {len(result.tries)} tries did not fix it")
