"""What a kernel executes for one notebook: its cells with ``%run`` inlined.

:func:`expand` reads a notebook (Databricks source or .ipynb) and returns a
:class:`Plan`: the python units to execute in order (each remembering the file,
the cell number and the file line of every source line), the cells that are not
executed locally (``%sql`` unless the kernel has Spark, ``%sh``, ``%pip``, ``%scala``,
``%r``, ``%fs``), and
where papermill parameters go. ``%run ./other`` is replaced by the units of
``other`` (recursively, relative to the including notebook, with or without
extension); a missing target or a cycle raises :class:`PlanError`, which names the
``%run`` cell. No I/O besides reading the notebooks.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from ..core import notebook as nbmod
from ..files import notebooks as nbfiles

#: cell languages that cannot run in a local python kernel: reported as skipped
SKIPPED_LANGUAGES = ("sql", "scala", "r", "sh", "pip", "fs")
#: languages never executed and not reported (documentation)
SILENT_LANGUAGES = ("md", "raw", "markdown")
RUN_EXTENSIONS = ("", ".py", ".ipynb", ".sql", ".scala", ".r")
_RUN_ARG = re.compile(r"^\$(\w+)=(.*)$")


class PlanError(Exception):
    """A %run that cannot be expanded (missing target, cycle)."""

    def __init__(self, message: str, *, path: Path, cell: int, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.cell = cell
        self.line = line


@dataclass
class Unit:
    """One piece of code sent to the kernel."""

    kind: str  # code | sql (spark.sql) | params (papermill injection point) | push | pop (%run arguments)
    path: Path
    cell: int  # 1-based cell number in ``path``
    source: str = ""
    line_map: list[int] = field(default_factory=list)
    #: for push: the widget values a ``%run ./x $a="b"`` passes
    args: dict[str, str] = field(default_factory=dict)

    @property
    def line(self) -> int | None:
        return self.line_map[0] if self.line_map else None

    def to_json(self) -> dict:
        return {"kind": self.kind, "path": str(self.path), "cell": self.cell, "source": self.source, "line_map": self.line_map}


@dataclass
class Skipped:
    path: Path
    cell: int
    line: int | None
    language: str

    def to_json(self) -> dict:
        return {"path": str(self.path), "cell": self.cell, "line": self.line, "language": self.language}


@dataclass
class Plan:
    path: Path
    units: list[Unit] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    #: every notebook read (the top one and the %run targets)
    files: list[Path] = field(default_factory=list)


def resolve_run_target(target: str, base: Path) -> Path | None:
    """The file ``%run target`` refers to, relative to the folder of ``base``."""
    raw = Path(target)
    candidate = raw if raw.is_absolute() else (base.parent / raw)
    for ext in RUN_EXTENSIONS:
        p = candidate.with_name(candidate.name + ext) if ext else candidate
        if p.is_file():
            return p.resolve()
    return None


def parse_run_args(first_line: str) -> dict[str, str]:
    """``./x $a="b" $c=d`` -> {"a": "b", "c": "d"}."""
    try:
        parts = shlex.split(first_line)
    except ValueError:
        parts = first_line.split()
    args = {}
    for part in parts[1:]:
        m = _RUN_ARG.match(part)
        if m:
            args[m.group(1)] = m.group(2)
    return args


def expand(path: str | Path, *, sql: bool = False) -> Plan:
    """The plan of ``path``; raises InputError (unreadable) or PlanError (%run).
    ``sql``: SQL cells become ``sql`` units (run through ``spark.sql``) instead of skipped."""
    top = Path(path).resolve()
    plan = Plan(path=top)
    _expand(top, plan, stack=[], sql=sql)
    return plan


def _code_language(cell: nbmod.Cell, nb_language: str) -> str:
    lang = cell.language
    if cell.kind != "code":
        return "md"
    if lang in SKIPPED_LANGUAGES or lang in SILENT_LANGUAGES or lang == "run":
        return lang
    if lang == "python" or nb_language == "python":
        # unknown line magics (%matplotlib, %time, %load_ext) are IPython's business
        return "python"
    return lang


def _expand(path: Path, plan: Plan, stack: list[Path], sql: bool = False) -> None:
    nb = nbfiles.read(path)
    plan.files.append(path)
    stack = stack + [path]
    for index, cell in enumerate(nb.cells, start=1):
        lang = _code_language(cell, nb.language)
        line_map = list(cell.line_map) or ([cell.line] if cell.line else [])
        if lang in SILENT_LANGUAGES:
            continue
        if lang == "run":
            target = cell.run_target
            line = line_map[0] if line_map else None
            if not target:
                raise PlanError("%run without a notebook path", path=path, cell=index, line=line)
            resolved = resolve_run_target(target, path)
            if resolved is None:
                raise PlanError(f"%run target not found: {target}", path=path, cell=index, line=line)
            if resolved in stack:
                chain = " -> ".join(p.name for p in stack[stack.index(resolved):] + [resolved])
                raise PlanError(f"%run cycle: {chain}", path=path, cell=index, line=line)
            args = parse_run_args(cell.body.split("\n", 1)[0])
            if args:
                plan.units.append(Unit("push", path, index, args=args))
            _expand(resolved, plan, stack, sql)
            if args:
                plan.units.append(Unit("pop", path, index))
            continue
        if lang == "sql" and sql:
            body, lines = (cell.body, line_map[1:]) if cell.magic == "sql" else (cell.source, line_map)
            if body.strip():
                plan.units.append(Unit("sql", path, index, source=body, line_map=lines))
            continue
        if lang != "python":
            plan.skipped.append(Skipped(path, index, line_map[0] if line_map else None, lang))
            continue
        source = cell.source
        if cell.magic == "python":
            source = cell.body
            line_map = line_map[1:]
        if not source.strip():
            continue
        plan.units.append(Unit("code", path, index, source=source, line_map=line_map))
        tags = (cell.metadata or {}).get("tags") or []
        if nb.format == "ipynb" and "parameters" in tags and len(stack) == 1:
            plan.units.append(Unit("params", path, index))
