"""Errors of notebook code mapped back to the notebook: a traceback of the user's frames with the
lines of the original files (cells, %run targets), written to ``error.json`` for the runner and shown
in the notebook's outputs.
"""

from __future__ import annotations

import linecache
import os
import sys
import traceback

from . import state
from .errors import NotebookExit

#: frames of the shim's own files are not the user's
_SHIM_DIR = os.path.dirname(os.path.abspath(__file__))


def unit_for(filename: str) -> dict | None:
    """The plan unit a file name IPython compiled a cell under stands for (None: not the notebook's code)."""
    unit = state.units_by_file.get(filename)
    if unit is not None:
        return unit
    lines = linecache.getlines(filename)
    if lines:
        return state.units_by_source.get("".join(lines).strip())
    return None


def _frames(tb):
    """(file, line, name, code, unit) for the user's frames: from the first notebook cell on, minus this module."""
    out = []
    started = False
    for fs in traceback.extract_tb(tb):
        unit = unit_for(fs.filename)
        if unit is not None:
            started = True
        if not started or os.path.dirname(os.path.abspath(fs.filename)) == _SHIM_DIR:
            continue
        if unit is not None:
            line_map = unit["line_map"]
            n = fs.lineno or 0
            file_line = line_map[n - 1] if 0 < n <= len(line_map) else n
            src = unit["source"].split("\n")
            code = src[n - 1].strip() if 0 < n <= len(src) else ""
            out.append((unit["path"], file_line, fs.name, code, unit))
        else:
            out.append((fs.filename, fs.lineno, fs.name, (fs.line or "").strip(), None))
    return out


def describe(etype, value, tb) -> dict:
    """An exception as the runner reports it: name, masked message and traceback, and the file, cell
    and line of the innermost frame of the notebook's own code."""
    frames = _frames(tb)
    lines = ["Traceback (most recent call last):"]
    for path, line, name, code, unit in frames:
        cell = f" (cell {unit['cell']})" if unit else ""
        lines.append(f'  File "{path}", line {line}, in {name}{cell}')
        if code:
            lines.append(f"    {code}")
    lines.extend(l.rstrip("\n") for l in traceback.format_exception_only(etype, value))
    if isinstance(value, SyntaxError) and unit_for(value.filename or "") is not None:
        unit = unit_for(value.filename)
        n = value.lineno or 0
        line = unit["line_map"][n - 1] if 0 < n <= len(unit["line_map"]) else n
        frames.append((unit["path"], line, "<module>", (value.text or "").strip(), unit))
        lines = [f'  File "{unit["path"]}", line {line} (cell {unit["cell"]})', f"    {(value.text or '').strip()}",
                 f"{etype.__name__}: {value.msg}"]
        value = value.msg
    where = next((f for f in reversed(frames) if f[4] is not None), None)
    return {
        "ename": etype.__name__,
        "evalue": state.mask(str(value)),
        "traceback": state.mask("\n".join(lines)),
        "path": where[0] if where else None,
        "cell": where[4]["cell"] if where else None,
        "line": where[1] if where else None,
    }


def custom_exc(shell, etype, value, tb, tb_offset=None):
    """IPython's custom exception handler: record the mapped error and show it in the cell's output
    (a NotebookExit ends the notebook quietly)."""
    if issubclass(etype, NotebookExit):
        return []
    info = describe(etype, value, tb)
    try:
        state.write_json(state.state_file("error.json"), info)
    except OSError:  # pragma: no cover
        pass
    stb = info["traceback"].split("\n")
    # IPython only shows what a custom handler returns when told to: publish the error ourselves,
    # through the hook IPython documents for subclasses (ipykernel's sends an `error` message);
    # docs/DEVELOPING.md lists it among the private names we keep
    show = getattr(shell, "_showtraceback", None)
    if callable(show):
        show(etype, value, stb)
    else:  # pragma: no cover - IPython renamed it: print it as IPython's own default does
        print(info["traceback"], file=sys.stderr)
    return stb
