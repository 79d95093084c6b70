"""Lint rules over the notebook model (pure: no files read or written, no processes).

Our own codes:

=======  ========  ==============================================================
code     severity  what
=======  ========  ==============================================================
MLO001   error     ``%run`` target does not exist
MLO002   error     malformed Databricks source (MAGIC lines outside a magic cell, ...)
MLO003   error     a Databricks-looking file without its ``Databricks notebook source`` header
MLO101   warning   committed outputs in an .ipynb cell (``--fix`` strips them)
MLO102   warning   committed execution count in an .ipynb cell (``--fix`` strips it)
SEC001   error     Databricks personal access token
SEC002   error     storage account key / connection string (``AccountKey=``)
SEC003   error     SAS signature (``sig=``)
SEC004   error     private key block
SEC005   error     password literal
E999     error     Python syntax error in a cell
=======  ========  ==============================================================

Python cells are also checked by ruff (pyflakes / pycodestyle class rules) through
:func:`python_source`, which builds one virtual module per notebook whose lines
map back to the notebook (see :class:`VirtualLine`).
"""

from __future__ import annotations

import ast
import bisect
import functools
import re
from typing import NamedTuple

from . import pyast
from .escapes import mask_escapes, may_have_escapes
from .notebook import COMMENT, Cell, Notebook

#: globals every Databricks notebook has
DATABRICKS_GLOBALS = ("spark", "sc", "dbutils", "display", "displayHTML", "sqlContext", "table", "sql", "getArgument")
RUN_PRELUDE_MODULE = "_mlops_run_names_"


class Finding(NamedTuple):
    """One finding: immutable, hashable, pickled cheaply (a run makes thousands)."""

    path: str
    line: int
    column: int
    cell: int | None
    code: str
    severity: str
    message: str
    fixable: bool = False

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "cell": self.cell,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        }

    def where(self) -> str:
        if self.cell is not None and self.path.endswith(".ipynb"):
            return f"{self.path}:cell {self.cell}:{self.line}:{self.column}"
        return f"{self.path}:{self.line}:{self.column}"


def code_selected(code: str, select: list[str], ignore: list[str]) -> bool:
    """ruff-like prefix selection: the longest matching prefix wins; ALL selects all."""

    def best(prefixes: list[str]) -> int:
        lengths = [len(p) for p in prefixes if p == "ALL" or code.startswith(p)]
        return max(lengths) if lengths else -1

    s = best(select) if select else 0
    i = best(ignore)
    return s >= 0 and s > i


# ---------------------------------------------------------------- secrets

_SECRETS = [
    ("SEC001", re.compile(r"\bdapi[0-9a-f]{32}(?:-\d+)?\b"), "Databricks personal access token"),
    ("SEC002", re.compile(r"AccountKey=[A-Za-z0-9+/=]{20,}"), "storage account key"),
    ("SEC003", re.compile(r"[?&;\s\"']sig=[A-Za-z0-9%+/=]{20,}"), "SAS token signature"),
    ("SEC004", re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----"), "private key block"),
    (
        "SEC005",
        re.compile(
            r"""(?i)\b(?:password|passwd|pwd|client_secret|secret_key)\b["']?\s*[:=]\s*[rbuf]?(["'])(?!\s*\1)(?![*<{$])[^"'\n]{4,}\1"""
        ),
        "password literal",
    ),
]
_SECRET_FIX = "move it to a secret scope and read it with dbutils.secrets.get(scope, key)"


#: a secret-shaped string needs one of these (lower-cased) words nearby (spelled out in
#: _may_hold_secret, a test keeps both alike); plain substring
#: checks are much faster than a case-insensitive regex over every file
_SECRET_WORDS = ("dapi", "accountkey", "sig=", "private key", "passw", "pwd", "secret")


def _may_hold_secret(text: str) -> bool:
    low = text.lower()
    return ("dapi" in low or "accountkey" in low or "sig=" in low or "private key" in low or "passw" in low
            or "pwd" in low or "secret" in low)


def scan_secrets(text: str) -> list[tuple[int, int, str, str]]:
    """(line, column, code, message) for every secret-shaped string; never includes the secret."""
    if not _may_hold_secret(text):
        return []
    found = []
    for code, rx, what in _SECRETS:
        for m in rx.finditer(text):
            start = m.start() + (1 if code == "SEC003" else 0)
            line_start = text.rfind("\n", 0, start) + 1
            lineno = text.count("\n", 0, start) + 1
            found.append((lineno, start - line_start + 1, code, f"hard-coded {what}; {_SECRET_FIX}"))
    found.sort()
    return found


def _noqa(line_text: str, code: str) -> bool:
    if "noqa" not in line_text.lower():
        return False
    m = re.search(r"#\s*noqa(?::\s*([A-Z0-9, ]+))?", line_text, re.IGNORECASE)
    if not m:
        m = re.search(r"--\s*noqa(?::\s*([A-Z0-9, ]+))?", line_text, re.IGNORECASE)
    if not m:
        return False
    if not m.group(1):
        return True
    codes = [c.strip().upper() for c in m.group(1).split(",") if c.strip()]
    return any(code.startswith(c) for c in codes)


# ---------------------------------------------------------------- rules


def check_notebook(nb: Notebook, display_path: str, run_resolver) -> list[Finding]:
    """All non-ruff findings of one notebook. ``run_resolver(nb, target)`` -> the file a ``%run`` names
    or None (:func:`devops_mlops.files.notebooks.run_resolver` looks on disk)."""
    out: list[Finding] = []

    def add(line: int, col: int, cell: int | None, code: str, severity: str, message: str, fixable=False, text=None):
        if text is None:
            lines = nb.text_lines  # split only when a finding needs its line
            text = lines[line - 1] if 0 < line <= len(lines) else ""
        if _noqa(text, code):
            return
        out.append(Finding(display_path, line, col, cell, code, severity, message, fixable))

    if nb.format == "plain":
        lang = nb.language if nb.language in COMMENT else None
        if lang:
            c = COMMENT[lang]
            m = _databricks_line(c).search(nb.text)
            if m:
                i = nb.text.count("\n", 0, m.start()) + 1
                add(1, 1, None, "MLO003", "error",
                    f"looks like a Databricks notebook (line {i}) but line 1 is not '{c} Databricks notebook source'")
        for line, col, code, msg in scan_secrets(nb.text):
            add(line, col, None, code, "error", msg)
        return out

    # one pre-scan of a source notebook; of an .ipynb, one of its cells and text outputs joined
    # (its file is mostly base64 images, which hold no secret); a word found means every cell
    # and output is scanned on its own
    if nb.format == "ipynb":
        texts = [cell.source for cell in nb.cells]
        texts += [_output_text(o) for cell in nb.cells for o in cell.outputs]
        maybe_secrets = _may_hold_secret("\n".join(texts))
    else:
        maybe_secrets = _may_hold_secret(nb.text)
    ipynb = nb.format == "ipynb"
    for cell_no, cell in enumerate(nb.cells, start=1):
        if nb.problems or cell.problems:
            for line, msg in nb.problems + cell.problems:
                add(line, 1, cell_no, "MLO002", "error", msg)
        target = cell.run_target if cell.language == "run" else None
        if target is not None and run_resolver(nb, target) is None and not target.startswith("/"):
            line, col = _cell_pos(nb, cell, 1)
            add(line, col, cell_no, "MLO001", "error", f"%run target '{target}' does not exist",
                text=_line_text(nb, cell, 1))
        for cline, ccol, code, msg in scan_secrets(cell.source) if maybe_secrets else ():
            line, col = _cell_pos(nb, cell, cline)
            add(line, col + (ccol - 1), cell_no, code, "error", msg, text=_line_text(nb, cell, cline))
        if ipynb and (cell.outputs or cell.execution_count is not None):
            end = cell.source.find("\n")
            first = cell.source if end < 0 else cell.source[:end]
            if cell.outputs:
                for o in cell.outputs if maybe_secrets else ():
                    for _l, _c, code, msg in scan_secrets(_output_text(o)):
                        add(1, 1, cell_no, code, "error", msg + " (in a committed output)", text="")
                        break
                add(1, 1, cell_no, "MLO101", "warning", "cell has committed outputs (strip them: mlops lint --fix)",
                    fixable=True, text=first)
            if cell.execution_count is not None:
                add(1, 1, cell_no, "MLO102", "warning", "cell has a committed execution count (mlops lint --fix)",
                    fixable=True, text=first)
    return out


@functools.lru_cache(maxsize=None)
def _databricks_line(c: str) -> re.Pattern:
    """A cell separator or a MAGIC line, as a plain file that is a notebook without its header has."""
    return re.compile(rf"^(?:{re.escape(c)} COMMAND ----------\r*$|{re.escape(c)} MAGIC)", re.MULTILINE)


def _output_text(output: dict) -> str:
    parts = []
    text = output.get("text")
    if text:
        parts.append("".join(text) if isinstance(text, list) else str(text))
    for mime, value in (output.get("data") or {}).items():
        if isinstance(value, (str, list)) and not mime.startswith("image/"):  # base64 pixels hold no secret
            parts.append("".join(value) if isinstance(value, list) else value)
    if output.get("traceback"):
        parts.append("\n".join(output["traceback"]))
    return "\n".join(parts)


def _magic_prefix_len(nb: Notebook, cell: Cell) -> int:
    """Columns a source notebook adds in front of a magic cell's lines (``# MAGIC ``)."""
    if nb.format != "source" or not cell._raw:
        return 0
    c = COMMENT[nb.language]
    first = cell.line_map[0] if cell.line_map else None
    raw_lines = nb.text_lines
    if first and raw_lines[first - 1].startswith(f"{c} MAGIC"):
        return len(c) + len(" MAGIC ")
    return 0


def _cell_pos(nb: Notebook, cell: Cell, cell_line: int) -> tuple[int, int]:
    """(line, extra column offset + 1) for a 1-based line of the cell source."""
    if nb.format == "ipynb":
        return cell_line, 1
    return cell.file_line(cell_line), 1 + _magic_prefix_len(nb, cell)


def _line_text(nb: Notebook, cell: Cell, cell_line: int) -> str:
    src = cell.source.split("\n")
    return src[cell_line - 1] if 0 < cell_line <= len(src) else ""


# ---------------------------------------------------------------- python cells for ruff


class VirtualLine(NamedTuple):
    cell: int | None  # 1-based cell number
    line: int  # line in the file (source/plain) or in the cell (ipynb)
    col_offset: int  # columns to add (MAGIC prefix)


class LineMap:
    """Maps a line of a notebook's virtual module back to the notebook, cell by cell. It holds
    only numbers (no cells), so the second process of `mlops lint` can send it back pickled."""

    def __init__(self, nb: Notebook) -> None:
        self._ipynb = nb.format == "ipynb"
        self.is_notebook = nb.is_notebook
        self._starts: list[int] = []  # first virtual line of each segment
        #: (end, cell no, the cell's file line per source line (empty for .ipynb), first cell line, offset)
        self._segments: list[tuple[int, int, list[int], int, int]] = []
        self.prelude = False

    def add(self, first_virtual: int, count: int, cell_no: int, cell: Cell, first_cell_line: int, offset: int) -> None:
        self._starts.append(first_virtual)
        self._segments.append((first_virtual + count, cell_no, [] if self._ipynb else cell.line_map,
                               first_cell_line, offset))

    @property
    def has_code(self) -> bool:
        return bool(self._segments)

    def lookup(self, row: int) -> VirtualLine | None:
        """Where 1-based virtual line ``row`` is in the notebook; None for synthetic lines."""
        i = bisect.bisect_right(self._starts, row) - 1
        if i < 0:
            return None
        end, cell_no, file_lines, first, offset = self._segments[i]
        if row >= end:
            return None
        cline = first + row - self._starts[i]
        if file_lines and 1 <= cline <= len(file_lines):  # as Cell.file_line maps it
            cline = file_lines[cline - 1]
        return VirtualLine(cell_no, cline, offset)


def python_cells(nb: Notebook) -> list[tuple[int, Cell, int]]:
    """(cell number, cell, first source line that is Python) for Python code cells."""
    out = []
    for index, cell in enumerate(nb.cells, start=1):
        if cell.kind != "code" or cell.language != "python":
            continue
        start = 2 if cell.magic == "python" else 1
        out.append((index, cell, start))
    return out


def python_source(
    nb: Notebook, prelude_names: set[str], *, isolate_syntax_errors: bool = False
) -> tuple[str, LineMap, list[Finding]]:
    """One virtual module of the notebook's Python cells for ruff.

    Returns (text, the map of its lines back to the notebook, syntax-error findings).
    With ``isolate_syntax_errors`` every cell is compiled first and a cell that does not
    parse is reported (E999) and left out, so the other cells are still linted; the fast
    path leaves syntax errors to ruff."""
    chunks: list[str] = []
    line_map = LineMap(nb)
    syntax: list[Finding] = []
    next_line = 1
    if prelude_names:
        # an import keeps E402 quiet; the line maps to nothing, so its own findings are dropped
        chunks.append(f"from {RUN_PRELUDE_MODULE} import {', '.join(sorted(prelude_names))}  # noqa")
        line_map.prelude = True
        next_line = 2
    for cell_no, cell, start in python_cells(nb):
        src_lines = cell.source.split("\n")[start - 1 :]
        if may_have_escapes(cell.source):
            src_lines = mask_escapes(src_lines)
        code = "\n".join(src_lines)
        if not code.strip():
            continue
        if isolate_syntax_errors:
            problem = _syntax_problem(nb, cell, cell_no, start, code)
            if problem is not None:
                syntax.append(problem)
                continue
        if chunks:
            chunks.append("\n")  # two blank lines between cells
            next_line += 2
        line_map.add(next_line, len(src_lines), cell_no, cell, start, _magic_prefix_len(nb, cell))
        chunks.append(code)
        next_line += len(src_lines)
    return "\n".join(chunks) + "\n", line_map, syntax


def _syntax_problem(nb: Notebook, cell: Cell, cell_no: int, start: int, code: str) -> Finding | None:
    try:
        pyast.check(code)
    except SyntaxError as exc:
        line, col = _cell_pos(nb, cell, (exc.lineno or 1) + start - 1)
        return Finding("", line, col + max((exc.offset or 1) - 1, 0), cell_no, "E999", "error",
                       f"syntax error: {exc.msg}")
    except (ValueError, RecursionError) as exc:
        line, col = _cell_pos(nb, cell, start)
        return Finding("", line, col, cell_no, "E999", "error", f"cannot parse cell: {exc}")
    return None


def defined_names(nb: Notebook) -> set[str]:
    """Top-level names a notebook defines (what a ``%run`` of it brings in)."""
    names: set[str] = set()
    for _n, cell, start in python_cells(nb):
        code = "\n".join(mask_escapes(cell.source.split("\n")[start - 1 :]))
        try:
            tree = pyast.parse(code)
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.name != "*":
                        names.add((alias.asname or alias.name).split(".")[0])
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for sub in ast.walk(t):
                        if isinstance(sub, ast.Name):
                            names.add(sub.id)
    return names
