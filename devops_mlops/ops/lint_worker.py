"""The notebooks ruff reads in place (and those without Python), parsed and checked by our
rules in a second process while this one builds the virtual modules and runs ruff.

API::

    worker = start(items, shown, cwd)   # items: [(index, path, raw bytes, read in place?)]
    ...                                  # meanwhile: .ipynb files, virtual modules, ruff
    checked = worker.result()            # {index: Checked}; InputError of a malformed file
    worker.close()                       # always (stops the process if the run failed first)

On a machine with two cores the parsing then costs no time of its own: the second process
works while this one prepares ruff's input (one core) and ruff works. The process is a
``fork`` of this one, so it starts in a few milliseconds with everything imported; without
``fork`` (Windows), for a few files, or if the process dies, the same work is done here.
The results travel back pickled: findings, where each file's Python cells are, and the
names its ``%run`` notebooks define.
"""

from __future__ import annotations

import bisect
import os
import pickle
import signal
from dataclasses import dataclass, field
from pathlib import Path

from ..core import notebook as nbm
from ..core.lint import (Finding, VirtualLine, check_notebook, defined_names, python_cells, resolve_run_target,
                         run_resolver)
from ..errors import InputError

#: fewer files than this are not worth a process
MIN_PARALLEL = 64


@dataclass
class Checked:
    findings: list[Finding]
    is_notebook: bool
    #: (first line, lines, cell number) of each Python cell, for a file ruff reads in place
    segments: list[tuple[int, int, int]] = field(default_factory=list)
    #: names the notebook's %run targets define
    run_names: set[str] = field(default_factory=set)


class SegmentMap:
    """Where a line of a file ruff read in place is: a Python cell's line, or None."""

    def __init__(self, segments: list[tuple[int, int, int]]) -> None:
        self._starts = [s[0] for s in segments]
        self._segments = segments

    def lookup(self, row: int) -> VirtualLine | None:
        i = bisect.bisect_right(self._starts, row) - 1
        if i < 0:
            return None
        first, count, cell_no = self._segments[i]
        return VirtualLine(cell_no, row, 0) if row < first + count else None


def segments(nb: nbm.Notebook) -> list[tuple[int, int, int]]:
    return [(cell.line_map[0], len(cell.line_map), cell_no)
            for cell_no, cell, start in python_cells(nb) if start == 1 and cell.line_map]


def run_names(nb: nbm.Notebook, cache: dict, known: dict, cwd: str, stack: tuple = ()) -> set[str]:
    """Names the notebook's ``%run`` targets define (recursively); ``known`` holds the notebooks
    already read, by absolute path."""
    names: set[str] = set()
    for cell in nb.cells:
        target = cell.run_target if cell.language == "run" else None
        if target is None:
            continue
        path = resolve_run_target(os.path.join(cwd, nb.path), target)
        if path is None or path in stack:
            continue
        if path not in cache:
            cache[path] = set()  # cycle guard while computing
            child = known.get(str(path))
            if child is None:
                try:
                    child = nbm.read(path)
                except InputError:
                    continue
            cache[path] = defined_names(child) | run_names(child, cache, known, cwd, stack + (path,))
        names |= cache[path]
    return names


def check_files(items: list[tuple[int, Path, bytes, bool]], shown: list[str], cwd: str) -> dict[int, Checked]:
    notebooks = {index: nbm.loads(raw, path) for index, path, raw, _direct in items}
    known = {os.path.normpath(os.path.join(cwd, nb.path)): nb for nb in notebooks.values()}
    cache: dict = {}
    out: dict[int, Checked] = {}
    resolver = run_resolver(cwd)
    for index, _path, _raw, direct in items:
        nb = notebooks[index]
        found = check_notebook(nb, shown[index], resolver)
        has_run = any(cell.language == "run" for cell in nb.cells)
        out[index] = Checked(found, nb.is_notebook, segments(nb) if direct else [],
                             run_names(nb, cache, known, cwd) if has_run else set())
    return out


class Worker:
    def __init__(self, items, shown, cwd, pid: int | None = None, fd: int | None = None) -> None:
        self._items, self._shown, self._cwd = items, shown, cwd
        self._pid, self._fd = pid, fd

    def result(self) -> dict[int, Checked]:
        if self._pid is None:
            return check_files(self._items, self._shown, self._cwd)
        with os.fdopen(self._fd, "rb") as pipe:
            data = pipe.read()
        self._fd = None
        os.waitpid(self._pid, 0)
        self._pid = None
        try:
            kind, payload = pickle.loads(data)
        except Exception:  # noqa: BLE001 - the process died: do its work here
            kind, payload = "lost", None
        if kind == "ok":
            return payload
        if kind == "input":
            message, path, line = payload
            raise InputError(message, path=path, line=line)
        return check_files(self._items, self._shown, self._cwd)  # a bug there shows here, with its traceback

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self._pid, 0)
            self._pid = None


def start(items: list[tuple[int, Path, bytes, bool]], shown: list[str], cwd: str) -> Worker:
    if len(items) < MIN_PARALLEL or not hasattr(os, "fork"):
        return Worker(items, shown, cwd)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the second process: work, send the result, leave without cleanup
        try:
            os.close(read_end)
            try:
                payload = ("ok", check_files(items, shown, cwd))
            except InputError as exc:
                payload = ("input", (exc.message, exc.path, exc.line))
            except BaseException as exc:  # noqa: BLE001 - redone (and raised) by the first process
                payload = ("bug", repr(exc))
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
        finally:
            os._exit(0)
    os.close(write_end)
    return Worker(items, shown, cwd, pid, read_end)
