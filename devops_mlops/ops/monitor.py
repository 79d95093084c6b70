"""Use case: monitoring, and the bounded retrain loop (`mlops monitor`).

1. The check (:mod:`devops_mlops.ops.monitor_checks`): the configured metrics of
   the production model on the latest labelled window, recorded in ``metrics`` and
   checked with the V-of-last-K rule (:mod:`devops_mlops.core.monitoring`).
2. In range: done. Out of range: the retrain loop, at most N tries
   (``monitoring.max_retrains`` or ``--max-retrains``). A try that improves on
   production (primary metric, same window) is registered and gated (the
   registry's ``validate``); the first that passes is promoted, the retrain
   notebook and a provenance record are committed (skip-ci marker), and the
   batches waiting for labels are scored again with it. No try within N: the
   alert "model needs retraining" goes to every channel; exit 1.

The loop's state is the ``retrain_attempts`` table, an append-only event log: its
decisions are :mod:`devops_mlops.core.retrain_loop`, its side effects
:mod:`devops_mlops.ops.monitor_retrain`. A crash and a re-run continue the
unfinished loop, never exceed N tries and never promote twice.

The monitor notebook imports :func:`check_metrics`, :func:`check_pipeline_params`
and :func:`recheck_candidate` from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..console import in_pipeline
from ..core import retrain_loop as rl
from ..errors import CheckFailed, InputError
from .commit import push_decision
from .monitor_checks import MetricsCheck, check_metrics, check_pipeline_params
from .monitor_recheck import Recheck, recheck_candidate
from .monitor_retrain import run_loop, unfinished_loop
from .retrain import retrainer_for

if TYPE_CHECKING:
    from ..context import Context

__all__ = [
    "MetricsCheck",
    "MonitorResult",
    "Recheck",
    "check_metrics",
    "check_pipeline_params",
    "monitor",
    "raise_if_failed",
    "recheck_candidate",
]


@dataclass
class MonitorResult:
    """What one run of `mlops monitor` found and did."""

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


def monitor(
    ctx: Context,
    *,
    max_retrains: int | None = None,
    retrainer: Any = None,
    tables: Any = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> MonitorResult:
    """Check the metrics; when out of range run (or resume) the bounded retrain loop."""
    tables = tables if tables is not None else ctx.tables
    cfg = ctx.config
    max_tries = cfg.monitoring.max_retrains if max_retrains is None else int(max_retrains)
    if max_tries < 0:
        raise InputError("--max-retrains must be 0 or more")
    check = check_metrics(ctx, tables=tables)
    result = MonitorResult(check, rl.IN_RANGE, max_tries=max_tries)
    start = rl.start(None if ctx.dry_run else unfinished_loop(ctx, tables), model=cfg.model.name,
                     batch=check.batch, version=check.version, window_end=check.window_end,
                     retrain_needed=check.retrain_needed)
    loop = start.loop
    if loop is None:
        result.outcome = start.outcome
        return _pipeline_outputs(ctx, result)
    result.resumed = loop.resumed
    result.loop_id, result.base_version, result.eval_batch = loop.loop_id, loop.base_version, loop.eval_batch
    if ctx.dry_run:
        result.outcome = rl.PLANNED
        d = push_decision(ctx, explicit=False)
        result.notes.append("the retrain commit of an improved model would be "
                            + ("pushed" if d.push else "kept on a local branch, not pushed") + f" ({d.reason})")
        return _pipeline_outputs(ctx, result)
    retrainer = retrainer if retrainer is not None else retrainer_for(ctx)
    result.retrainer = getattr(retrainer, "name", type(retrainer).__name__)
    run_loop(ctx, tables, loop, retrainer, result, on_event=on_event)
    return _pipeline_outputs(ctx, result)


def _pipeline_outputs(ctx: Context, result: MonitorResult) -> MonitorResult:
    """The pipeline's output variable ``retrainNeeded`` and build tag; ``monitoring.warn_only`` turns
    the alert's failure into a warning inside a pipeline."""
    needed = result.outcome in (rl.RETRAINED, rl.ALERTED, rl.PLANNED)
    ctx.console.vso("task.setvariable", "true" if needed else "false", variable="retrainNeeded", isOutput="true")
    if result.outcome == rl.ALERTED:
        ctx.console.vso("build.addbuildtag", "model-needs-retraining")
        if ctx.config.monitoring.warn_only and in_pipeline():
            ctx.console.vso("task.complete", "model needs retraining", result="SucceededWithIssues")
            result.exit_code = 0
    elif result.outcome == rl.RETRAINED:
        ctx.console.vso("build.addbuildtag", f"retrained-v{result.promoted_version}")
    return result


def raise_if_failed(result: MonitorResult) -> None:
    """CheckFailed (exit 1) when the loop ended with the alert."""
    if result.exit_code:
        raise CheckFailed(f"model {result.check.model} needs retraining: {len(result.tries)} tries did not fix it")
