"""The monitoring part of `mlops lifecycle`: batch after batch, then what the design expects of it.

Each later batch arrives (the project's ``entry_points.ingest``), is scored and
monitored (`mlops monitor`); then :func:`expect` checks the outcomes against the
scenario the project's data announces: in range before any drift, a fixable drift
fixed by one retrain (a new version promoted, the waiting batch scored by it, the
retrain notebook committed with the skip-ci marker), an unfixable one alerted
after ``monitoring.max_retrains`` tries. The report closes the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ServiceError
from ..kernel.entry_points import resolve
from . import tables as T
from .infer import infer
from .lifecycle_result import LifecycleResult, StepRunner
from .monitor import MonitorResult, monitor
from .report import write_report
from .session import Session

if TYPE_CHECKING:
    from ..context import Context
    from .retrain import Retrainer


def monitor_batches(ctx: Context, run: StepRunner, result: LifecycleResult, scenario: dict[str, Any],
                    retrainer: Retrainer, max_batches: int | None) -> None:
    """The monitoring step over the batches after the training job's (at most ``max_batches``), the
    expectations on its outcomes, the report step."""
    session = Session(ctx)
    ingest = resolve(ctx.config, "ingest")
    drifts = scenario["drifts"]
    first = (session.batches(session.features_table) or [max(scenario["history"], default=-1)])[-1] + 1
    w = ctx.config.monitoring.windows
    last = (drifts[-1]["from_batch"] if drifts else first) + w.evaluate + scenario["label_delay"] + 1
    if max_batches is not None:
        last = min(last, first + max_batches - 1)
    outcomes: list[dict[str, Any]] = []

    def monitoring():
        with ctx.console.tracker(last - first + 1, "monitoring batches") as progress:
            return _batches(progress)

    def _batches(progress):
        for b in range(first, last + 1):
            ingest(session, [b])
            infer(ctx, batches=[b])
            m = monitor(ctx, retrainer=retrainer)
            entry = {
                "batch": b,
                "outcome": m.outcome,
                "window": m.check.window_end,
                "version": m.check.version,
                "metrics": {k: round(v, 4) for k, v in m.check.values().items()},
                "tries": [{"attempt": t["attempt"], "outcome": t["outcome"], "version": t["version"]} for t in m.tries],
                "promoted": m.promoted_version,
                "commit": m.commit,
                "commit_branch": m.commit_branch,
                "pushed": m.pushed,
                "scored": m.scored_batches,
                "alert": m.deliveries,
                "summary": _line(m),
            }
            outcomes.append(entry)
            result.monitoring.append(entry)
            if m.commit_summary:
                result.notes.append(f"retrain commit of batch {b}: {m.commit_summary}")
            progress.step()
            progress.note(f"   batch {b}: {entry['summary']}")
            if m.outcome == "alerted" and (not drifts or b > drifts[-1]["from_batch"]):
                break
        return True, f"batches {first}..{outcomes[-1]['batch'] if outcomes else first}", {}

    run.step("monitoring", monitoring)
    expect_outcomes(ctx, result, outcomes, drifts)

    def report():
        r = write_report(ctx)
        result.report = r.html
        return True, f"{r.html} ({r.windows} windows)", {}

    run.step("report", report)


def _line(m: MonitorResult) -> str:
    """One batch's line: the outcome, the metrics, the tries, what the loop did."""
    vals = ", ".join(f"{k}={v:.3g}" for k, v in m.check.values().items())
    outcome = m.outcome
    if outcome == "in-range" and any(r["status"] == "violation" for r in m.check.rows):
        outcome = "in-range by the rule (a violation, but not in V of the last K windows yet)"
    text = f"{outcome} [{vals}]" if vals else outcome
    if m.tries:
        text += "; tries: " + ", ".join(f"{t['attempt']}:{t['outcome']}" for t in m.tries)
    if m.outcome == "retrained":
        where = f" on {m.commit_branch}" if m.commit_branch else ""
        pushed = ", pushed" if m.pushed else ", not pushed" if m.commit_branch else ""
        text += f"; v{m.promoted_version} promoted, commit {str(m.commit)[:10]}{where}{pushed}, re-scored {m.scored_batches}"
    if m.outcome == "alerted":
        text += "; alert sent: " + ", ".join(d["channel"] for d in m.deliveries if d["ok"])
    return text


def expect_outcomes(ctx: Context, result: LifecycleResult, outcomes: list[dict[str, Any]],
                    drifts: list[dict[str, Any]]) -> None:
    """Record in ``result`` whether the monitoring ``outcomes`` are what the scenario's ``drifts`` call for."""
    cfg = ctx.config

    def expect(what: str, ok: bool, detail: str = "") -> None:
        result.expectations.append({"what": what, "ok": bool(ok), "detail": detail})

    in_range = [o for o in outcomes if o["outcome"] == "in-range"]
    retrained = [o for o in outcomes if o["outcome"] == "retrained"]
    alerted = [o for o in outcomes if o["outcome"] == "alerted"]
    expect("monitoring in range before any drift", bool(in_range), f"{len(in_range)} window(s)")
    fixable = [d["from_batch"] for d in drifts if d["fixable"]]
    unfixable = [d["from_batch"] for d in drifts if not d["fixable"]]
    if fixable:
        ok = len(retrained) == 1 and retrained[0]["promoted"] is not None
        expect(
            f"the drift from batch {fixable[0]} is fixed by retraining: a new version registered and promoted",
            ok,
            f"v{retrained[0]['promoted']} after {len(retrained[0]['tries'])} try(s)" if retrained else "no retrain",
        )
        if retrained:
            r = retrained[0]
            holder_ok = _predictions_from(ctx, r["scored"], r["promoted"])
            expect("the waiting batch is scored by the retrained version", holder_ok, f"batch(es) {r['scored']}")
            commit = str(r["commit"] or "")
            expect(
                "the retrain notebook is committed with the skip-ci marker",
                _committed(ctx, commit, cfg.scm.skip_marker),
                commit[:12],
            )
    if unfixable:
        ok = len(alerted) >= 1 and len(alerted[-1]["tries"]) == cfg.monitoring.max_retrains
        expect(
            f"the drift from batch {unfixable[0]} is not fixable: {cfg.monitoring.max_retrains} tries, then the alert",
            ok,
            f"{len(alerted[-1]['tries'])} tries" if alerted else "no alert",
        )
        if alerted:
            delivered = [d for d in alerted[-1]["alert"] if d["ok"]]
            expect(
                "the alert is recorded", bool(delivered), ", ".join(f"{d['channel']}: {d['detail']}" for d in delivered)
            )


def _predictions_from(ctx: Context, batches: list[int], version: int | None) -> bool:
    if not batches or version is None:
        return version is not None
    preds = ctx.tables.read(T.PREDICTIONS, where={"batch_id": list(batches)})
    return len(preds) > 0 and {int(v) for v in preds["model_version"].unique()} == {int(version)}


def _committed(ctx: Context, commit: str, marker: str) -> bool:
    """Whether ``commit`` (the loop's record: a sha, "no changes" or "failed: ...") carries ``marker``."""
    if not commit or commit.startswith("failed") or commit == "no changes":
        # an identical provenance record was committed by an earlier run: nothing new to commit
        return commit == "no changes" and any(marker in m for m in ctx.git.recent_messages(20))
    try:
        return marker in ctx.git.message_of(commit)
    except ServiceError:  # no such commit
        return False
