"""The bounded retrain loop of `mlops monitor`, as decisions over plain data (no I/O).

The loop's state is a fold over an append-only event log (the ``retrain_attempts``
table): ``started`` / ``finished`` per try, then ``promoted``, ``committed``,
``scored`` for the winning try, or ``alerted`` when no try won. The use case
(:mod:`devops_mlops.ops.monitor`) reads the events, asks :func:`next_action` what to
do, does it, and appends what happened (:func:`event_row`); so a run that crashed
anywhere and is started again continues where it stopped:

- a try that started and never finished is started again once (the same attempt, on
  the same data, so the loop ends as an uninterrupted one would); interrupted twice,
  it counts as a try (never more than N tries, and a try that kills its process every
  time cannot loop forever);
- a version registered by a try killed before it recorded the try is found by its
  tags (:func:`reusable_version`) instead of registered twice;
- a promotion already recorded is never made again.

The other decisions live here too: whether a check starts, resumes or skips a loop
(:func:`start`), whether a try improves on production (:func:`judge`), what the retrain
commit's provenance record and the alert say, and how the loop ended (:func:`outcome_of`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from .monitoring import improves

#: try outcomes
PASSED = "passed"  # improved on production and passed the gate
NOT_IMPROVED = "not-improved"
GATE_FAILED = "gate-failed"
FAILED = "failed"  # the try itself failed (an error)
INTERRUPTED = "interrupted"  # started, never finished (a crash)
#: an interrupted try is started this many times in all before it counts as a try
STARTS_PER_TRY = 2
EVENTS = ("started", "finished", "promoted", "committed", "scored", "alerted")
#: how a run of `mlops monitor` ends
IN_RANGE = "in-range"
NOTHING_TO_EVALUATE = "nothing-to-evaluate"
RETRAINED = "retrained"
ALERTED = "alerted"
PLANNED = "planned"  # --dry-run: the loop would start


@dataclass
class Try:
    attempt: int
    outcome: str = INTERRUPTED
    run_id: str | None = None
    version: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    improved: bool | None = None
    gate_passed: bool | None = None
    detail: str = ""
    train_batches: str = ""
    starts: int = 0


@dataclass
class LoopState:
    loop_id: str
    tries: list[Try] = field(default_factory=list)
    promoted: int | None = None
    committed: str | None = None  # commit sha or the reason there is none
    scored: bool = False
    alerted: bool = False

    @property
    def winner(self) -> Try | None:
        return next((t for t in self.tries if t.outcome == PASSED and t.version is not None), None)

    @property
    def finished(self) -> bool:
        return self.alerted or (self.winner is not None and self.scored)


@dataclass(frozen=True)
class Action:
    kind: str  # train | promote | commit | score | alert | done
    attempt: int | None = None
    version: int | None = None


@dataclass(frozen=True)
class Loop:
    """One loop: the production version and the window that triggered it, and the batch it evaluates on."""

    loop_id: str
    base_version: int | None
    window_end: str
    eval_batch: int
    resumed: bool = False


@dataclass(frozen=True)
class Start:
    """What a run does after the metrics check: run ``loop`` (new or resumed), or end with ``outcome``."""

    loop: Loop | None
    outcome: str = ""


@dataclass(frozen=True)
class Verdict:
    """Whether a try's model improves on production's primary metric, and why not."""

    improved: bool
    detail: str = ""


# ----------------------------------------------------------------------------- the state machine
def fold(loop_id: str, events: list[dict[str, Any]]) -> LoopState:
    """The loop's state from its events (rows of ``retrain_attempts`` with this ``loop_id``), in order."""
    state = LoopState(loop_id)
    by_attempt: dict[int, Try] = {}
    for e in sorted((e for e in events if e.get("loop_id") == loop_id), key=_sort_key):
        kind = e.get("event")
        attempt = int(e.get("attempt") or 0)
        if kind == "started":
            if attempt not in by_attempt:
                by_attempt[attempt] = Try(attempt)
                state.tries.append(by_attempt[attempt])
            by_attempt[attempt].starts += 1
        elif kind == "finished":
            t = by_attempt.setdefault(attempt, Try(attempt))
            if t not in state.tries:
                state.tries.append(t)
            t.outcome = str(e.get("outcome") or FAILED)
            t.run_id = e.get("run_id") or None
            t.version = _int(e.get("version"))
            t.metrics = _metrics(e.get("metrics"))
            t.improved = _bool(e.get("improved"))
            t.gate_passed = _bool(e.get("gate_passed"))
            t.detail = str(e.get("detail") or "")
            t.train_batches = str(e.get("train_batches") or "")
        elif kind == "promoted":
            state.promoted = _int(e.get("version"))
        elif kind == "committed":
            state.committed = str(e.get("detail") or "")
        elif kind == "scored":
            state.scored = True
        elif kind == "alerted":
            state.alerted = True
    state.tries.sort(key=lambda t: t.attempt)
    return state


def next_action(state: LoopState, max_tries: int) -> Action:
    """What to do next: train a try, promote / commit / score the winner, alert, or nothing (done)."""
    winner = state.winner
    if winner is not None:
        if state.promoted != winner.version:
            return Action("promote", winner.attempt, winner.version)
        if state.committed is None:
            return Action("commit", winner.attempt, winner.version)
        if not state.scored:
            return Action("score", winner.attempt, winner.version)
        return Action("done", winner.attempt, winner.version)
    if state.alerted:
        return Action("done")
    last = state.tries[-1] if state.tries else None
    if last is not None and last.outcome == INTERRUPTED and last.starts < STARTS_PER_TRY and last.attempt <= max_tries:
        return Action("train", last.attempt)  # killed mid-try: the same try again
    if len(state.tries) < max_tries:
        return Action("train", len(state.tries) + 1)
    return Action("alert")


def outcome_of(state: LoopState) -> str:
    """How a loop that ran to its end ended: retrained (a winner) or alerted."""
    return RETRAINED if state.winner is not None else ALERTED


# ----------------------------------------------------------------------------- starting a loop
def loop_id(model: str, base_version: int | None, window_end: str) -> str:
    """One loop per model, production version and triggering window: a re-run finds it again."""
    return f"{model}@v{base_version if base_version is not None else 0}@{window_end}"


def pending_loop(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last event of the newest loop that neither promoted-and-scored nor alerted (a crash), or None."""
    last: dict[str, dict[str, Any]] = {}
    for e in events:
        last[e["loop_id"]] = e
    for lid in sorted(last, key=lambda k: str(last[k]["at"]), reverse=True):
        if not fold(lid, events).finished:
            return last[lid]
    return None


def start(pending: dict[str, Any] | None, *, model: str, batch: int | None, version: int | None,
          window_end: str | None, retrain_needed: bool) -> Start:
    """After the check of ``batch`` (None: no window to evaluate): resume the ``pending`` loop (the
    last event of an unfinished one), else start one when the rule calls for retraining, else end."""
    if pending is not None:
        return Start(Loop(pending["loop_id"], int(pending["base_version"]) or None, str(pending["window_end"]),
                          int(pending["eval_batch"]), resumed=True))
    if batch is None:
        return Start(None, NOTHING_TO_EVALUATE)
    if not retrain_needed:
        return Start(None, IN_RANGE)
    return Start(Loop(loop_id(model, version, str(window_end)), version, str(window_end), int(batch)))


# ----------------------------------------------------------------------------- one try
def restart_detail(state: LoopState, attempt: int) -> str:
    """The ``started`` event's detail: why a try starts again."""
    again = any(t.attempt == attempt for t in state.tries)
    return "again: the run that started it was interrupted" if again else ""


def production_metrics(rows: list[dict[str, Any]], base_version: int | None) -> dict[str, float]:
    """Production's metrics on the loop's window from its ``metrics`` rows (those the loop's base
    version scored, when it has one)."""
    if base_version:
        rows = [r for r in rows if r["model_version"] == base_version]
    return {r["metric"]: float(r["value"]) for r in rows}


def judge(metrics: dict[str, float], production: dict[str, float], *, primary: str,
          higher_is_better: bool) -> Verdict:
    """Whether a try's ``metrics`` improve on ``production``'s primary metric (any value does when
    production has none); the detail names both values when not."""
    current = production.get(primary)
    if primary in metrics and improves(metrics[primary], current, higher_is_better=higher_is_better):
        return Verdict(True)
    shown = current if current is not None else "-"
    return Verdict(False, f"{primary} {metrics.get(primary, float('nan')):.4g} vs production {shown}")


def registration_tags(loop_id: str, attempt: int, out: dict[str, Any], eval_batch: int) -> dict[str, str]:
    """The tags a try's model is registered with (``out``: the retrain result)."""
    return {
        "mlops.retrain.loop": loop_id,
        "mlops.retrain.attempt": str(attempt),
        "mlops.train_batches": ",".join(str(b) for b in out.get("train_batches", [])),
        "mlops.eval_batch": str(out.get("eval_batch", eval_batch)),
    }


def reusable_version(versions: list[Any], loop_id: str, attempt: int) -> Any | None:
    """The version (of ``versions``, each with ``tags``) this try registered before its run was
    killed, before it recorded the try; None when it registered none."""
    for known in versions:
        if (known.tags.get("mlops.retrain.loop"), known.tags.get("mlops.retrain.attempt")) == (loop_id, str(attempt)):
            return known
    return None


def gate_tags(loop_id: str, attempt: int, passed: bool) -> dict[str, str]:
    """The tags a try's registered version gets once the gate has judged it."""
    return {
        "mlops.retrain.loop": loop_id,
        "mlops.retrain.attempt": str(attempt),
        "mlops.retrain.gate": "passed" if passed else "failed",
    }


def event_row(loop: Loop, *, model: str, seq: int, at: Any, event: str, attempt: int = 0, outcome: str = "",
              run_id: str = "", version: int | None = None, metrics: dict[str, float] | None = None,
              improved: bool | None = None, gate_passed: bool | None = None, detail: str = "",
              train_batches: list[int] | None = None) -> dict[str, Any]:
    """One row of ``retrain_attempts``: event ``seq`` of ``loop`` at time ``at``."""
    return {
        "loop_id": loop.loop_id,
        "seq": seq,
        "at": at,
        "model_name": model,
        "base_version": int(loop.base_version or 0),
        "window_end": loop.window_end,
        "eval_batch": int(loop.eval_batch),
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


# ----------------------------------------------------------------------------- the winner and the alert
def provenance(loop: Loop, *, model: str, action: Action, winner: Try | None, production: dict[str, float],
               data_window: dict[str, str | None]) -> dict[str, Any]:
    """The provenance record committed with the retrain notebook: the winner's metrics against
    production's on the same window, the data it was trained on, the loop and the try."""
    trained_on = [int(b) for b in (winner.train_batches.split(",") if winner and winner.train_batches else [])]
    return {
        "model": model,
        "version": action.version,
        "metrics": {
            k: {"candidate": v, "production": production.get(k)} for k, v in (winner.metrics if winner else {}).items()
        },
        "data_window": data_window,
        "retrain_loop": loop.loop_id,
        "attempt": action.attempt,
        "run_id": winner.run_id if winner else None,
        "train_batches": trained_on,
    }


def alert_summary(model: str, loop: Loop, tries: int) -> str:
    """The alert's text when no try brought a model that improves and passes the gate."""
    return (
        f"{model} v{loop.base_version}: the monitoring metrics are out of range on the window ending "
        f"{loop.window_end} and {tries} retraining tries did not bring a model that improves and passes the gate."
    )


def alert_metrics(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The metric rows of the triggering check as the alert shows them."""
    keep = ("metric", "value", "threshold_min", "threshold_max", "status", "window_end")
    return [{k: r[k] for k in keep} for r in rows]


# ----------------------------------------------------------------------------- reading events
def _nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _sort_key(e: dict[str, Any]) -> tuple:
    try:
        order = EVENTS.index(str(e.get("event")))
    except ValueError:
        order = len(EVENTS)
    return (_int(e.get("seq")) or 0, str(e.get("at") or ""), order)


def _int(v: Any) -> int | None:
    try:
        return None if v is None or _nan(v) or v == "" else int(v)
    except (TypeError, ValueError):
        return None


def _bool(v: Any) -> bool | None:
    if v is None or _nan(v) or v == "":
        return None
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes")
    return bool(v)


def _metrics(v: Any) -> dict[str, float]:
    if isinstance(v, dict):
        return {str(k): float(x) for k, x in v.items()}
    if isinstance(v, str) and v:
        try:
            return {str(k): float(x) for k, x in json.loads(v).items()}
        except (ValueError, AttributeError):
            return {}
    return {}
