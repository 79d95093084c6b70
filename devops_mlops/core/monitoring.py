"""Monitoring rules and the bounded retrain loop, as plain logic (no I/O).

The rule (as Databricks MLOps Stacks has it): a metric calls for retraining when
it is out of range in at least ``V`` of the last ``K`` evaluated windows *and* in
the latest one.

The retrain loop is a state machine whose state is a fold over an append-only
event log (the ``retrain_attempts`` table): ``started`` / ``finished`` per try,
then ``promoted``, ``committed``, ``scored`` for the winning try, or ``alerted``
when no try won. :func:`next_action` says what to do next from that state, so a
run that crashed anywhere and is started again continues where it stopped: a try
that started and never finished is started again once (the same attempt, on the
same data, so the loop ends as an uninterrupted one would); interrupted twice, it
counts as a try (never more than N tries, and a try that kills its process every
time cannot loop forever); a promotion already recorded is never made again.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

OK = "ok"
VIOLATION = "violation"
#: try outcomes
PASSED = "passed"  # improved on production and passed the gate
NOT_IMPROVED = "not-improved"
GATE_FAILED = "gate-failed"
FAILED = "failed"  # the try itself failed (an error)
INTERRUPTED = "interrupted"  # started, never finished (a crash)
#: an interrupted try is started this many times in all before it counts as a try
STARTS_PER_TRY = 2
EVENTS = ("started", "finished", "promoted", "committed", "scored", "alerted")


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


# ----------------------------------------------------------------------------- the loop
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


def loop_id(model: str, base_version: int | None, window_end: str) -> str:
    """One loop per model, production version and triggering window: a re-run finds it again."""
    return f"{model}@v{base_version if base_version is not None else 0}@{window_end}"


def improves(candidate: float, current: float | None, *, higher_is_better: bool) -> bool:
    if current is None or _nan(current):
        return True
    return candidate > current if higher_is_better else candidate < current


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
