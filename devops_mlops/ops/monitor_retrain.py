"""The retrain loop's side effects: the event log in ``retrain_attempts``, and each action done.

:mod:`devops_mlops.core.retrain_loop` decides (which try, improved or not, when to
alert, what to record); this module reads and appends the loop's events through the
tables port and does what each action asks: a retrain try through the retrainer, the
registration and the gate through the registry port, the promotion, the commit of the
retrain notebook, the batches waiting for labels scored again, the alert.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from .. import killpoint
from ..core import retrain_loop as rl
from ..errors import MlopsError
from ..ports.alerts import Alert
from . import tables as T
from .candidates import data_window
from .commit import commit_notebooks
from .commit_text import pipeline_run
from .infer import infer
from .model import promote, validate
from .session import Session

if TYPE_CHECKING:
    from ..context import Context
    from .model_validate import ValidationResult
    from .monitor import MonitorResult
    from .retrain import Retrainer


def read_events(ctx: Context, tables: Any) -> list[dict[str, Any]]:
    """Every retrain loop event of the configured model."""
    if not tables.exists(T.RETRAIN_ATTEMPTS):
        return []
    frame = tables.read(T.RETRAIN_ATTEMPTS, where={"model_name": ctx.config.model.name})
    return frame.to_dict("records")


def unfinished_loop(ctx: Context, tables: Any) -> dict[str, Any] | None:
    """The last event of the newest loop of this model that neither promoted-and-scored nor alerted (a crash)."""
    return rl.pending_loop(read_events(ctx, tables))


class EventLog:
    """One loop's events in ``retrain_attempts`` (append-only)."""

    def __init__(self, ctx: Context, tables: Any, loop: rl.Loop, *,
                 on_event: Callable[[dict[str, Any]], None] | None = None):
        self.ctx, self.tables, self.loop = ctx, tables, loop
        self.on_event = on_event
        self.events = [e for e in read_events(ctx, tables) if e["loop_id"] == loop.loop_id]

    def state(self) -> rl.LoopState:
        return rl.fold(self.loop.loop_id, self.events)

    def record(self, event: str, attempt: int = 0, **fields: Any) -> None:
        """Append ``event`` of try ``attempt`` (``fields``: those of :func:`~devops_mlops.core.retrain_loop.event_row`)."""
        import pandas as pd

        row = rl.event_row(self.loop, model=self.ctx.config.model.name, seq=len(self.events) + 1,
                           at=_dt.datetime.now(_dt.UTC), event=event, attempt=attempt, **fields)
        self.tables.append(T.RETRAIN_ATTEMPTS, pd.DataFrame([row]))
        self.events.append(row)
        if self.on_event is not None:
            self.on_event(row)


def run_loop(ctx: Context, tables: Any, loop: rl.Loop, retrainer: Retrainer, result: MonitorResult, *,
             on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Run (or resume) ``loop`` to its end, at most ``result.max_tries`` tries; fill in ``result``."""
    log = EventLog(ctx, tables, loop, on_event=on_event)
    steps = RetrainSteps(ctx, tables, log, retrainer, result)
    while True:
        action = rl.next_action(log.state(), result.max_tries)
        if action.kind == "done":
            break
        getattr(steps, action.kind)(action)
    state = log.state()
    result.tries = [asdict(t) for t in state.tries]
    result.outcome = rl.outcome_of(state)
    if state.winner is not None:
        result.promoted_version = state.promoted
        result.commit = state.committed
    else:
        if not result.deliveries:
            result.notes.append("the alert for this window was sent by an earlier run")
        result.exit_code = 1


class RetrainSteps:
    """What each action of the state machine does (one method per :attr:`Action.kind`)."""

    def __init__(self, ctx: Context, tables: Any, log: EventLog, retrainer: Retrainer, result: MonitorResult):
        self.ctx, self.tables, self.log, self.retrainer, self.result = ctx, tables, log, retrainer, result
        self.cfg = ctx.config
        self.loop = log.loop
        self.session = Session(ctx, tables=tables)
        self.validation: ValidationResult | None = None

    def _eval_frame(self) -> Any:
        return self.session.evaluation_frame(self.loop.eval_batch)

    def _production_metrics(self) -> dict[str, float]:
        if not self.tables.exists(T.METRICS):
            return {}
        rows = self.tables.read(T.METRICS, where={"batch_id": self.loop.eval_batch, "model_name": self.cfg.model.name})
        return rl.production_metrics(rows.to_dict("records"), self.loop.base_version)

    def train(self, action: rl.Action) -> None:
        """One retrain try: train, compare with production, register and gate when it improves."""
        attempt = int(action.attempt or 1)
        self.ctx.console.progress(f"retrain try {attempt} ({self.retrainer.name})")
        self.log.record("started", attempt, detail=rl.restart_detail(self.log.state(), attempt))
        killpoint.reached("monitor.started")
        try:
            out = self.retrainer.run(self.ctx, attempt, self.loop.eval_batch)
        except MlopsError as exc:
            self.log.record("finished", attempt, outcome=rl.FAILED, detail=exc.one_line())
            return
        killpoint.reached("monitor.trained")
        metrics = {k: float(v) for k, v in out["metrics"].items()}
        verdict = rl.judge(metrics, self._production_metrics(), primary=self.cfg.model.primary_metric,
                           higher_is_better=self.cfg.model.higher_is_better)
        if not verdict.improved:
            self.log.record("finished", attempt, outcome=rl.NOT_IMPROVED, run_id=out["run_id"], metrics=metrics,
                            improved=False, detail=verdict.detail, train_batches=out.get("train_batches"))
            return
        version = self._register(out, attempt)
        killpoint.reached("monitor.registered")
        self.validation = validate(self.ctx, version, self._eval_frame())
        passed = self.validation.passed
        self.ctx.registry.set_tags(self.cfg.model.name, version, rl.gate_tags(self.loop.loop_id, attempt, passed))
        self.log.record(
            "finished",
            attempt,
            outcome=rl.PASSED if passed else rl.GATE_FAILED,
            run_id=out["run_id"],
            version=version,
            metrics=metrics,
            improved=True,
            gate_passed=passed,
            detail="" if passed else "gate " + self.validation.gate.summary(),
            train_batches=out.get("train_batches"),
        )

    def _register(self, out: dict[str, Any], attempt: int) -> int:
        known = rl.reusable_version(self.ctx.registry.get_model(self.cfg.model.name, with_metrics=False),
                                    self.loop.loop_id, attempt)
        if known is not None:  # registered by a run killed before it recorded the try
            out["run_id"] = known.run_id or out["run_id"]
            return int(known.version)
        tags = rl.registration_tags(self.loop.loop_id, attempt, out, self.loop.eval_batch)
        return self.session.register(out.get("model_uri") or f"runs:/{out['run_id']}/model", tags=tags)

    def promote(self, action: rl.Action) -> None:
        """Give the winner production (validated again on the same window when resumed)."""
        version = int(action.version)
        self.ctx.console.progress(f"promoting v{version} to production")
        if self.validation is not None and self.validation.version == version:
            promote(self.ctx, version, "production", validation=self.validation)
        else:  # resumed: validate again on the same window
            promote(self.ctx, version, "production", eval_frame=self._eval_frame())
        killpoint.reached("monitor.promoted")
        self.log.record("promoted", action.attempt or 0, version=version)
        self.result.promoted_version = version

    def commit(self, action: rl.Action) -> None:
        """Commit ``monitoring.retrain_notebook`` and the winner's provenance record (skip-ci marker)."""
        notebook = self.cfg.monitoring.retrain_notebook
        if not notebook:
            self.log.record("committed", action.attempt or 0, version=action.version,
                            detail="skipped: monitoring.retrain_notebook is not set")
            return
        winner = self.log.state().winner
        provenance = rl.provenance(
            self.loop, model=self.cfg.model.name, action=action, winner=winner,
            production=self._production_metrics(),
            data_window=data_window(self.ctx, winner.run_id if winner else None, end=self.loop.window_end),
        )
        try:
            done = commit_notebooks(self.ctx, [notebook], provenance=provenance, automation=True)
            # no change: this loop's provenance record is committed already (by a run killed after committing)
            detail = done.commit or (self.ctx.git.head() if done.provenance else None) or "no changes"
            self.result.commit_summary = done.summary()
            self.result.commit_branch = done.branch if done.pushed else done.committed_on
            self.result.pushed = done.pushed
            self.result.notes.extend(getattr(done, "notes", []) or [])
        except MlopsError as exc:
            detail = f"failed: {exc.one_line()}"
            self.result.notes.append(f"auto-commit failed: {exc.one_line()}")
        killpoint.reached("monitor.committed")
        self.log.record("committed", action.attempt or 0, version=action.version, detail=detail)

    def score(self, action: rl.Action) -> None:
        """Score the batches waiting for labels again with the promoted version."""
        waiting = [b for b in T.table_batches(self.tables, self.cfg.model.features_table) if b > self.loop.eval_batch]
        if waiting:
            infer(self.ctx, batches=waiting, version=int(action.version), tables=self.tables)
        self.result.scored_batches = waiting
        killpoint.reached("monitor.scored")
        self.log.record("scored", action.attempt or 0, version=action.version,
                        detail=",".join(map(str, waiting)) or "no batch waiting for labels")

    def alert(self, action: rl.Action) -> None:
        """Send "model needs retraining" to every channel, keyed by the loop (sent once per loop)."""
        name = self.cfg.model.name
        tries = [asdict(t) for t in self.log.state().tries]
        links = {
            "metrics table": self.tables.location(T.METRICS),
            "retrain attempts": self.tables.location(T.RETRAIN_ATTEMPTS),
        }
        run = pipeline_run() or {}
        if run.get("url"):
            links["pipeline run"] = run["url"]
        alert = Alert(
            title=f"model needs retraining: {name}",
            model_name=name,
            summary=rl.alert_summary(name, self.loop, len(tries)),
            metrics=rl.alert_metrics(self.result.check.rows),
            tries=tries,
            links=links,
            key=f"retrain-loop:{self.loop.loop_id}",
        )
        self.result.deliveries = [asdict(d) for d in self.ctx.alerts.send(alert)]
        killpoint.reached("monitor.alerted")
        self.log.record("alerted", 0, detail=json.dumps(self.result.deliveries, default=str)[:2000])
