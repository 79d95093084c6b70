"""The second process of `mlops lint`: half of the work before ruff starts, and half after.

API::

    worker = start(prep, check, shown, cwd, scratch)
    # prep:  [(index, path, raw bytes)]: notebooks it turns into virtual modules in ``scratch``
    # check: [(index, path, raw bytes, read in place by ruff?)]: files it parses
    ...                                   # meanwhile: this process does the other half
    prepared = worker.prepared()          # Prepared: its modules are written; InputError of a bad file
    ...                                   # ruff starts over both halves' modules
    checked = worker.result()             # {index: Checked} of every file it was given
    worker.close()                        # always (stops the process if the run failed first)

Before ruff can start, every notebook it cannot read in place (an .ipynb, one with
escapes) must be parsed and its Python cells written out as a module; that is the longest
part of a run, so both processes take half of those notebooks. While ruff works, both
parse and check (our rules) half of the rest. The process is a ``fork`` of this one, so it
starts in a few milliseconds with everything imported; without ``fork`` (Windows), for a
few files, or if the process dies, the same work is done here. Results travel back pickled,
in two length-prefixed messages on one pipe: the modules' line maps, then the findings,
where each file's Python cells are, and the names its ``%run`` notebooks define.
"""

from __future__ import annotations

import bisect
import os
import pickle
import signal
from pathlib import Path

from ..core import notebook as nbm
from ..core.lint import Finding, LineMap, VirtualLine, check_notebook, defined_names, python_cells, python_source
from ..files import notebooks as nbfiles
from ..files.notebooks import resolve_run_target, run_resolver
from ..errors import InputError
from .lint_ruff import write_modules

#: fewer files than this are not worth a process
MIN_PARALLEL = 64


class Checked:
    """What the checks found in one file."""

    def __init__(self, findings: list[Finding], is_notebook: bool, segments: list[tuple[int, int, int]] | None = None,
                 run_names: set[str] | None = None) -> None:
        self.findings = findings
        self.is_notebook = is_notebook
        #: (first line, lines, cell number) of each Python cell, for a file ruff reads in place
        self.segments = [] if segments is None else segments
        #: names the notebook's %run targets define
        self.run_names = set() if run_names is None else run_names


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
                    child = nbfiles.read(path)
                except InputError:
                    continue
            cache[path] = defined_names(child) | run_names(child, cache, known, cwd, stack + (path,))
        names |= cache[path]
    return names


class Prepared:
    """The virtual modules one process wrote."""

    def __init__(self) -> None:
        #: module name -> (file index, where its lines are in the notebook)
        self.maps: dict[str, tuple[int, LineMap]] = {}
        #: syntax errors found while building them (only when cells are isolated)
        self.findings: list[Finding] = []


def module_name(index: int, *, isolate: bool = False) -> str:
    """The file name of the virtual module of file ``index`` (``isolate``: syntax errors left out)."""
    return f"nb{index:05d}{'s' if isolate else ''}.py"


def module_of(nb: nbm.Notebook, index: int, shown: str, *, isolate: bool = False):
    """(module name or None, text, line map, syntax findings) of a notebook's virtual module;
    the name is None when it has no Python code (a plain file of another language included)."""
    if nb.format == "plain" and nb.language != "python":
        return None, "", None, []
    text, line_map, syntax = python_source(nb, set(), isolate_syntax_errors=isolate)
    found = [Finding(shown, f.line, f.column, f.cell if nb.is_notebook else None, f.code, f.severity, f.message)
             for f in syntax]
    if not line_map.has_code:
        return None, text, line_map, found
    return module_name(index, isolate=isolate), text, line_map, found


def prepare(notebooks: dict[int, nbm.Notebook], shown: list[str], scratch: str | None) -> Prepared:
    """The virtual modules of ``notebooks`` ({index: notebook}), written into ``scratch``."""
    out = Prepared()
    modules: dict[str, str] = {}
    for index, nb in notebooks.items():
        name, text, line_map, found = module_of(nb, index, shown[index])
        out.findings += found
        if name is not None:
            modules[name] = text
            out.maps[name] = (index, line_map)
    if modules:
        write_modules(scratch, modules)
    return out


def check_files(items: list[tuple[int, Path, bytes, bool]], shown: list[str], cwd: str,
                parsed: dict[int, nbm.Notebook] | None = None) -> dict[int, Checked]:
    """Parse ``items`` and check them and the notebooks already ``parsed``."""
    notebooks = dict(parsed or {})
    direct = {index for index, _path, _raw, is_direct in items if is_direct}
    notebooks.update((index, nbm.loads(raw, path)) for index, path, raw, _direct in items)
    known = {os.path.normpath(os.path.join(cwd, nb.path)): nb for nb in notebooks.values()}
    cache: dict = {}
    out: dict[int, Checked] = {}
    resolver = run_resolver(cwd)
    for index, nb in notebooks.items():
        found = check_notebook(nb, shown[index], resolver)
        has_run = any(cell.language == "run" for cell in nb.cells)
        out[index] = Checked(found, nb.is_notebook, segments(nb) if index in direct else [],
                             run_names(nb, cache, known, cwd) if has_run else set())
    return out


def _send(fd: int, payload) -> None:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(len(data).to_bytes(8, "little") + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, size: int) -> bytes | None:
    """``size`` bytes from ``fd``; None when the pipe ends first (the process died)."""
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _receive(fd: int):
    """One message, or ("lost", None) when the process died before sending it whole."""
    head = _read_exact(fd, 8)
    size = int.from_bytes(head, "little") if head else 0
    data = _read_exact(fd, size) if size else None
    if data is None:
        return "lost", None
    try:
        return pickle.loads(data)
    except Exception:  # noqa: BLE001 - a torn message: the work is redone here
        return "lost", None


def _parse(prep: list[tuple[int, Path, bytes]]) -> dict[int, nbm.Notebook]:
    return {index: nbm.loads(raw, path) for index, path, raw in prep}


class Worker:
    def __init__(self, prep, check, shown, cwd, scratch, pid: int | None = None, fd: int | None = None) -> None:
        self._prep, self._check, self._shown, self._cwd, self._scratch = prep, check, shown, cwd, scratch
        self._pid, self._fd = pid, fd
        self._parsed: dict[int, nbm.Notebook] | None = None  # the prep notebooks, when parsed here

    def _prepare_here(self) -> Prepared:
        self._parsed = _parse(self._prep)
        return prepare(self._parsed, self._shown, self._scratch)

    def _lost(self) -> None:
        """The process died or broke: stop it; what it wrote is written again here."""
        self.close()
        for index, _path, _raw in self._prep:
            try:
                os.unlink(os.path.join(self._scratch or "", module_name(index)))
            except OSError:
                pass

    def _message(self):
        kind, payload = _receive(self._fd)
        if kind == "input":
            message, path, line = payload
            raise InputError(message, path=path, line=line)
        return kind, payload

    def prepared(self) -> Prepared:
        if self._pid is None:
            return self._prepare_here()
        kind, payload = self._message()
        if kind == "ok":
            return payload
        self._lost()
        return self._prepare_here()  # a bug there shows here, with its traceback

    def result(self) -> dict[int, Checked]:
        if self._pid is not None:
            kind, payload = self._message()
            self.close()
            if kind == "ok":
                return payload
        if self._parsed is None:  # redone here: the prep notebooks parsed again, their modules kept
            self._parsed = _parse(self._prep)
        return check_files(self._check, self._shown, self._cwd, self._parsed)

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


def _work(prep, check, shown, cwd, scratch, fd: int) -> None:
    """The second process: the modules of ``prep``, then the checks; each step's failure is the
    last message (the first process raises an InputError, redoes the work after anything else)."""
    try:
        parsed = _parse(prep)
        _send(fd, ("ok", prepare(parsed, shown, scratch)))
        _send(fd, ("ok", check_files(check, shown, cwd, parsed)))
    except InputError as exc:
        _send(fd, ("input", (exc.message, exc.path, exc.line)))
    except BaseException as exc:  # noqa: BLE001 - redone (and raised) by the first process
        _send(fd, ("bug", repr(exc)))


def start(prep: list[tuple[int, Path, bytes]], check: list[tuple[int, Path, bytes, bool]], shown: list[str],
          cwd: str, scratch: str | None) -> Worker:
    if len(prep) + len(check) < MIN_PARALLEL or not hasattr(os, "fork"):
        return Worker(prep, check, shown, cwd, scratch)
    read_end, write_end = os.pipe()
    try:  # Linux: room for the first message, so the process never waits for this one to read it
        import fcntl

        fcntl.fcntl(write_end, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass
    pid = os.fork()
    if pid == 0:  # the second process: work, send the results, leave without cleanup
        try:
            os.close(read_end)
            _work(prep, check, shown, cwd, scratch, write_end)
        finally:
            os._exit(0)
    os.close(write_end)
    return Worker(prep, check, shown, cwd, scratch, pid, read_end)


def split(items: list, sizes: list[int]) -> tuple[list, list]:
    """``items`` in two shares of about equal total size (largest first, each to the lighter
    share), each share in the items' order."""
    shares: tuple[list, list] = ([], [])
    loads = [0, 0]
    for k in sorted(range(len(items)), key=lambda k: -sizes[k]):
        lighter = 0 if loads[0] <= loads[1] else 1
        shares[lighter].append(k)
        loads[lighter] += sizes[k]
    return [items[k] for k in sorted(shares[0])], [items[k] for k in sorted(shares[1])]
