"""`mlops lint`: our notebook rules plus ruff over every Python cell, in one ruff run.

API::

    result = lint_paths([Path("notebooks")], select=[], ignore=[], fix=False)
    result.findings   # list[core.lint.Finding], sorted
    result.ok         # no findings left

Everything is read and parsed before anything is written: a malformed file stops
the run (exit 2) with nothing changed; ``fix`` rewrites .ipynb files atomically.

The run is ordered for speed, in two processes (ops/lint_worker.py): each parses half of
the notebooks ruff needs as virtual modules (.ipynb, and those with escapes or ``%python``
cells) and writes their modules; ruff starts (ops/lint_ruff.py); while it works, each
parses and checks half of the rest (Databricks source notebooks ruff reads in place, SQL
and Scala notebooks). Names a ``%run`` brings in are known by dropping ruff's
undefined-name findings for them.
"""

from __future__ import annotations

import gc
import os
import re
from pathlib import Path

from . import lint_shipped
from ..errors import MlopsError
from ..core import notebook as nbm
from ..core.escapes import may_have_escapes
from ..core.lint import (
    Finding,
    check_notebook,
    code_selected,
)
from ..files import notebooks as nbfiles
from . import lint_worker
from .lint_ruff import RuffRun, run_ruff

DEFAULT_SELECT = ["E4", "E7", "E9", "F", "MLO", "SEC"]
#: ruff findings about a name that a %run notebook may define
_NAME_CODES = ("F821", "F405", "F822")
_NAME_IN_MESSAGE = re.compile(r"`([^`]+)`")


class ConfigGuessWrong(Exception):
    """The configuration, read while ruff worked, has lint settings: lint again with them."""

    def __init__(self, config) -> None:
        super().__init__("the configuration has lint settings")
        self.config = config


class LintResult:
    def __init__(self, files: list[str], findings: list[Finding] | None = None, fixed: int = 0) -> None:
        self.files = files
        self.findings: list[Finding] = [] if findings is None else findings
        self.fixed = fixed
        #: the project's configuration (read by lint_paths when it was given a loader)
        self.config = None

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> dict:
        return {
            "files": len(self.files),
            "fixed": self.fixed,
            "findings": [f.to_json() for f in self.findings],
            "summary": {
                "findings": len(self.findings),
                "errors": sum(1 for f in self.findings if f.severity == "error"),
                "warnings": sum(1 for f in self.findings if f.severity == "warning"),
                "files_with_findings": len({f.path for f in self.findings}),
            },
        }


def display_path(path: Path, cwd: str | None = None) -> str:
    """``path`` relative to the current folder (a relative path only normalised: relpath would
    ask the system for the current folder twice per file)."""
    text = os.fspath(path)
    if not os.path.isabs(text):
        norm = os.path.normpath(text)
        if not norm.startswith(".."):
            return norm
    try:
        return os.path.relpath(text, cwd or os.getcwd())
    except ValueError:  # another drive
        return text


def _way(path: Path, raw: bytes, direct_ok: bool) -> str:
    """How a file reaches ruff: "direct" (read in place), "virtual" (its Python cells as a
    module, so parsed before ruff starts) or "none" (no Python: parsed while ruff runs)."""
    suffix = path.suffix.lower()
    if suffix == ".ipynb":
        return "virtual"
    if suffix == ".py":
        if not direct_ok or raw.startswith(b"\xef\xbb\xbf"):
            return "virtual"
        text = raw.decode("utf-8", "replace")
        return "virtual" if "%python" in text or may_have_escapes(text) else "direct"
    return "virtual" if b"%python" in raw else "none"


def lint_paths(
    paths: list[Path],
    *,
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    exclude: list[str] | None = None,
    fix: bool = False,
    root: Path | None = None,
    config=None,
) -> LintResult:
    """Lint ``paths``; ``config`` is the project's configuration when the caller has read it,
    or a function that reads it (called once ruff works, its errors raised before any of a
    notebook; the configuration read is ``result.config``).

    The cyclic garbage collector is paused meanwhile: parsing a thousand notebooks makes
    hundreds of thousands of objects (JSON cells and outputs), and its passes over them cost a
    third of the parsing while finding nothing to free (the models hold no cycles)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return _lint_paths(paths, select=select, ignore=ignore, exclude=exclude, fix=fix, root=root, config=config)
    finally:
        if paused:
            gc.enable()


def _lint_paths(paths, *, select, ignore, exclude, fix, root, config) -> LintResult:
    if not callable(config):
        result = _lint_run(paths, select=select, ignore=ignore, exclude=exclude, fix=fix, root=root, config=config)
        result.config = config
        return result
    loader, loaded = config, []

    def settle():
        if not loaded:
            loaded.append(loader())
        return loaded[0]

    try:
        result = _lint_run(paths, select=select, ignore=ignore, exclude=exclude, fix=fix, root=root, config=settle)
    except MlopsError:
        settle()  # the configuration's own error first, as when it is read before the notebooks
        raise
    result.config = settle()
    return result


def _lint_run(paths, *, select, ignore, exclude, fix, root, config) -> LintResult:
    select = list(select or DEFAULT_SELECT)
    ignore = list(ignore or [])
    files = nbfiles.iter_notebook_files(paths, exclude)
    raws = [nbfiles.read_bytes(f) for f in files]  # InputError (exit 2) before anything else
    cwd = os.getcwd()
    result = LintResult(files=[display_path(f, cwd) for f in files])
    ruff = RuffRun(select, ignore, root)

    notebooks: list = [None] * len(files)
    ways = [_way(path, raw, ruff.direct_ok) for path, raw in zip(files, raws)]
    direct = {os.path.normpath(os.path.join(cwd, files[i])): i for i, way in enumerate(ways) if way == "direct"}
    # two processes (ops/lint_worker.py): each builds half of the virtual modules, ruff starts,
    # then each parses and checks half of the other files while ruff works
    virtual = [i for i, way in enumerate(ways) if way == "virtual"]
    rest = [i for i, way in enumerate(ways) if way != "virtual"]
    mine_v, theirs_v = lint_worker.split(virtual, [len(raws[i]) for i in virtual])
    mine_r, theirs_r = lint_worker.split(rest, [len(raws[i]) for i in rest])
    scratch = ruff.scratch() if virtual else None
    worker = lint_worker.start([(i, files[i], raws[i]) for i in theirs_v],
                               [(i, files[i], raws[i], ways[i] == "direct") for i in theirs_r],
                               result.files, cwd, scratch)
    maps: dict[str, tuple[int, object]] = {}
    findings: list[Finding] = []
    checked: dict[int, lint_worker.Checked] = {}
    try:
        for index in mine_v:
            notebooks[index] = nbm.loads(raws[index], files[index])
        here = lint_worker.prepare({i: notebooks[i] for i in mine_v}, result.files, scratch)
        there = worker.prepared()
        maps.update(here.maps)
        maps.update(there.maps)
        findings += here.findings + there.findings
        ruff.start(list(direct), sorted(maps), _notebook_inputs(direct, raws, maps))
        if callable(config):  # read while ruff works (ConfigGuessWrong: lint again)
            config = config()
        for index in mine_r:  # while ruff works
            notebooks[index] = nbm.loads(raws[index], files[index])
        resolver = nbfiles.run_resolver(cwd)
        for index in mine_v + mine_r:
            findings += check_notebook(notebooks[index], result.files[index], resolver)
        # MLO201 (only a project with a package of its own: else nothing is parsed again)
        findings += lint_shipped.check(notebooks, result.files, root,
                                       load=lambda i: nbm.loads(raws[i], files[i]), config=config)
        checked = worker.result()
        for path, index in direct.items():  # where a file ruff read in place has Python cells
            segments = checked[index].segments if index in checked else lint_worker.segments(notebooks[index])
            maps[path] = (index, lint_worker.SegmentMap(segments))
        for item in checked.values():
            findings += item.findings
        diagnostics = ruff.wait()
    finally:
        worker.close()
        ruff.close()
    if any(d["filename"] not in maps for d in diagnostics):  # ruff named a file by its real path
        real = {os.path.realpath(path): path for path in direct}
        for d in diagnostics:
            d["filename"] = real.get(d["filename"], d["filename"])

    # a syntax error hides a module's other findings: lint those notebooks again
    # with the broken cells left out (and reported), in one more ruff run
    broken = sorted({maps[d["filename"]][0] for d in diagnostics if _is_syntax(d)})
    if broken:
        diagnostics = [d for d in diagnostics if maps[d["filename"]][0] not in broken]
        again: dict[str, str] = {}
        for index in broken:
            if notebooks[index] is None:
                notebooks[index] = nbm.loads(raws[index], files[index])
            name, text, line_map, found = lint_worker.module_of(notebooks[index], index, result.files[index],
                                                                isolate=True)
            findings += found
            if name is not None:
                again[name] = text
                maps[name] = (index, line_map)
        diagnostics += run_ruff(again, select, ignore, root, _notebook_inputs({}, raws, {n: maps[n] for n in again}))

    findings += _ruff_findings(diagnostics, maps, notebooks, checked, result.files, cwd)
    chosen: dict[str, bool] = {}
    for f in findings:
        if f.code not in chosen:
            chosen[f.code] = code_selected(f.code, select, ignore)
    findings = [f for f in findings if chosen[f.code]]
    if fix:
        for index, path in enumerate(files):  # the second process's notebooks are parsed there only
            if notebooks[index] is None and path.suffix.lower() == ".ipynb":
                notebooks[index] = nbm.loads(raws[index], path)
        changed = [nb for nb in notebooks if nb is not None and nb.format == "ipynb" and nbm.strip_outputs(nb)]
        for nb in changed:
            nbfiles.write(nb)
        result.fixed = sum(1 for f in findings if f.fixable)
        findings = [f for f in findings if not f.fixable]
    result.findings = sorted(set(findings), key=lambda f: (f.path, f.cell or 0, f.line, f.column, f.code))
    return result


def _notebook_inputs(direct: dict[str, int], raws: list[bytes], maps: dict) -> set[str]:
    """The inputs of a ruff run that are notebooks: the files read in place that start with the
    header, the virtual modules (``maps``: {name: (index, line map)}) of notebooks."""
    out = {name for name, (_index, line_map) in maps.items() if line_map.is_notebook}
    for path, index in direct.items():
        raw = raws[index]
        end = raw.find(b"\n")
        first = (raw if end < 0 else raw[:end]).decode("utf-8", "replace").rstrip("\r")
        if nbm.is_header(first, "#"):
            out.add(path)
    return out


def _ruff_findings(diagnostics: list[dict], maps: dict, notebooks: list, checked: dict, shown: list[str],
                   cwd: str) -> list[Finding]:
    out: list[Finding] = []
    names: dict[int, set[str]] = {}
    cache: dict = {}
    known: dict = {}
    named: dict[str, str | None] = {}  # message -> the name it is about (many messages repeat)
    for d in diagnostics:
        index, line_map = maps[d["filename"]]
        nb = notebooks[index]
        is_notebook = nb.is_notebook if nb is not None else checked[index].is_notebook
        code = d.get("code")
        if code in (None, "invalid-syntax", "E999") or d.get("name") == "invalid-syntax":
            code = "E999"
        if code == "E402" and is_notebook:
            continue  # imports in later cells are how notebooks are written
        if code in _NAME_CODES:
            if index not in names:
                if index in checked:
                    names[index] = checked[index].run_names
                else:
                    if not known:
                        known.update((os.path.normpath(os.path.join(cwd, n.path)), n) for n in notebooks if n)
                    names[index] = lint_worker.run_names(nb, cache, known, cwd)
            if names[index]:
                message = d["message"]
                if message not in named:
                    m = _NAME_IN_MESSAGE.search(message)
                    named[message] = m.group(1) if m else None
                if named[message] in names[index]:
                    continue  # defined by a notebook this one %runs
        where = line_map.lookup(d["location"]["row"])
        if where is None:
            continue  # a line of no Python cell (a comment to ruff), or a synthetic one
        message = d["message"] if code != "E999" else f"syntax error: {d['message']}"
        severity = "error" if code.startswith(("F", "E9")) else "warning"
        out.append(Finding(shown[index], where.line, d["location"]["column"] + where.col_offset,
                           where.cell if is_notebook else None, code, severity, message))
    return out


def _is_syntax(diagnostic: dict) -> bool:
    return diagnostic.get("code") in (None, "invalid-syntax", "E999") or diagnostic.get("name") == "invalid-syntax"


def junit_suites(result: LintResult):
    from ..core.junit import Case, Failure, Suite

    suite = Suite("mlops lint")
    by_path: dict[str, list[Finding]] = {p: [] for p in result.files}
    for f in result.findings:
        by_path.setdefault(f.path, []).append(f)
    for path, items in by_path.items():
        case = Case(name=path, classname="mlops.lint", file=path)
        if items:
            text = "\n".join(f"{f.where()}: {f.code} {f.message}" for f in items)
            case.failure = Failure(f"{len(items)} finding(s)", text)
            case.line = items[0].line
        suite.cases.append(case)
    return [suite]
