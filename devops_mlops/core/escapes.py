"""IPython escapes in Python cells, turned into no-op placeholders for ruff.

Databricks runs Python cells through IPython, so a cell may hold lines that are not
Python but that the kernel runs: shell escapes (``!pip install x``, ``!deepspeed ...``,
``!!ls``), line magics (``%pip install x``, ``%sh ls``, ``%matplotlib inline``), their
assignment forms (``files = !ls``, ``t = %timeit -o f()``) and help (``df.head?``). An
escape line ending in a backslash continues on the next line, as in IPython.

:func:`mask_escapes` replaces each such line by ``pass`` (``name = None`` for the
assignment form) with its indentation kept, and its continuation lines by blank lines,
so ruff sees valid Python with every other line where it was. As in IPython, a line
is an escape only where a statement starts: a ``% b`` continuing an open bracket or a
``!`` inside a triple-quoted string is left alone.
"""

from __future__ import annotations

import re

from . import pyast

#: lines that may be escapes (checked against the statement context before masking)
_CANDIDATE = re.compile(
    r"^\s*(?:[!%]|[A-Za-z_][\w.]*\?\??\s*$|[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*[!%])"
)
_ASSIGN = re.compile(r"^(\s*[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=)\s*[!%]")
#: cheap searches that together find every candidate line (and a few other lines); each starts
#: with a literal character, which the regex engine scans for quickly (a ``^`` in MULTILINE mode
#: would be tried at every position)
_QUICK = (re.compile(r"\n[ \t]*[!%]"), re.compile(r"=[ \t]*[!%]"), re.compile(r"\?[ \t]*(?:\n|$)"))
#: compile errors that mean "the lines so far end inside a statement"
_OPEN = ("was never closed", "unterminated triple-quoted", "unexpected EOF")


def may_have_escapes(code: str) -> bool:
    """A cheap test: False means :func:`mask_escapes` would change nothing."""
    if "!" not in code and "%" not in code and "?" not in code:
        return False
    if code.lstrip(" \t")[:1] in ("!", "%"):
        return True
    return any(rx.search(code) is not None for rx in _QUICK)


def _inside_statement(lines: list[str]) -> bool:
    if not lines:
        return False
    try:
        pyast.check("\n".join(lines) + "\n")
    except SyntaxError as exc:
        return any(text in (exc.msg or "") for text in _OPEN)
    except (ValueError, RecursionError):
        return False
    return False


def _placeholder(line: str) -> str:
    m = _ASSIGN.match(line)
    if m:
        return m.group(1) + " None"
    stripped = line.lstrip()
    return line[: len(line) - len(stripped)] + "pass"


def mask_escapes(lines: list[str]) -> list[str]:
    """``lines`` of one Python cell with every IPython escape line made a placeholder."""
    out = list(lines)
    i = 0
    while i < len(out):
        line = out[i]
        if _CANDIDATE.match(line) and not _inside_statement(out[:i]):
            out[i] = _placeholder(line)
            while line.rstrip().endswith("\\") and i + 1 < len(out):
                i += 1
                line = out[i]
                out[i] = ""
        i += 1
    return out
