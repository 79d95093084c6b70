"""Named points where a test may kill this process for real (``kill -9``), to prove crash safety.

Production code calls :func:`reached` at the moments that matter (after an upload, after a
model version is registered, between a side effect and the journal row that records it).
It does nothing unless ``MLOPS_TEST_KILL_AT`` is set, to ``<point>`` (the first time the point
is reached) or ``<point>:<n>`` (the n-th time). Then it sends SIGKILL to its own process: no
``finally`` block, no ``atexit`` handler, no flushed buffer runs, exactly as when the machine
or the agent dies. The list of points is in docs/lifecycle.md ("Crash safety").
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "MLOPS_TEST_KILL_AT"
_hits: dict[str, int] = {}
_guard = threading.Lock()


def _wanted() -> tuple[str, int] | None:
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return None
    name, _, count = spec.partition(":")
    try:
        return name, max(1, int(count)) if count else 1
    except ValueError:
        return name, 1


def reached(point: str) -> None:
    """Kill this process with SIGKILL when ``MLOPS_TEST_KILL_AT`` names ``point`` (and its count is due)."""
    wanted = _wanted()
    if wanted is None or wanted[0] != point:
        return
    with _guard:
        _hits[point] = _hits.get(point, 0) + 1
        due = _hits[point] == wanted[1]
    if due:
        os.kill(os.getpid(), signal.SIGKILL)
