"""Progress of long work (many uploads, jobs, notebooks, lifecycle steps), on stderr, in one of three modes:

* ``bar``: stderr is a terminal: click's progress bar, redrawn in place;
* ``lines``: inside Azure Pipelines (``TF_BUILD=True``): a plain line ``label: done/total (pct%)``
  at each tenth of the work and at least every ``every`` seconds, so the log shows the work moving
  without a line per item; the last line gives the elapsed time;
* ``off``: ``--format json`` (stdout carries one document and nothing else is wanted), or output
  that is neither a terminal nor a pipeline log (a file, another program).

This module knows nothing of the console: :meth:`devops_mlops.console.Console.tracker` tells it
whether it runs inside a pipeline and hands it the function that masks secrets.

Usage::

    with ctx.console.tracker(len(items), "sync") as progress:
        for item in items:
            ...
            progress.step()          # thread-safe: uploads call it from worker threads
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

#: seconds between two lines in ``lines`` mode when fewer than a tenth of the work got done meanwhile
EVERY_SECONDS = 10.0


def mode_for(json_output: bool, in_pipeline: bool, stream: IO[str] | None = None) -> str:
    """The mode for a command's output: ``off`` in JSON, ``lines`` in a pipeline, ``bar`` on a terminal."""
    if json_output:
        return "off"
    if in_pipeline:
        return "lines"
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    return "bar" if isatty is not None and isatty() else "off"


class Progress:
    """A counter towards ``total`` shown according to ``mode`` (see the module docstring); every line
    written goes through ``mask``."""

    def __init__(self, total: int, label: str, mode: str, *, mask: Callable[[str], str],
                 stream: IO[str] | None = None, every: float = EVERY_SECONDS) -> None:
        self.total, self.label, self.every = max(total, 0), label, every
        self._mask = mask
        self.mode = mode if self.total > 0 else "off"
        self.done = 0
        self._stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._started = self._last_time = time.monotonic()
        self._last_tenth = 0
        self._bar: Any = None
        self._closed = self._finished = False
        if self.mode == "bar":
            import click

            self._bar = click.progressbar(length=self.total, label=label, file=self._stream, show_pos=True,
                                          show_eta=True, width=30)
            self._bar.render_progress()

    def step(self, n: int = 1) -> None:
        with self._lock:
            self.done = min(self.total, self.done + n)
            if self.mode == "bar":
                self._bar.update(n)
            elif self.mode == "lines" and not self._finished:
                now = time.monotonic()
                tenth = self.done * 10 // self.total
                if self.done == self.total:
                    self._finished = True
                    self._line(f" in {now - self._started:.1f}s")
                elif tenth > self._last_tenth or now - self._last_time >= self.every:
                    self._line("")
                else:
                    return
                self._last_tenth, self._last_time = tenth, now

    def _line(self, suffix: str) -> None:
        pct = 100 * self.done // self.total
        self._stream.write(self._mask(f"{self.label}: {self.done}/{self.total} ({pct}%){suffix}") + "\n")
        self._stream.flush()

    def note(self, message: str) -> None:
        """A line of its own (a finished item's summary) without breaking the bar."""
        with self._lock:
            if self.mode == "bar" and not self._closed:
                self._stream.write("\r\033[K" + self._mask(message) + "\n")
                self._bar.render_progress()
            else:
                self._stream.write(self._mask(message) + "\n")
            self._stream.flush()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self.mode == "bar":
                self._bar.render_finish()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
