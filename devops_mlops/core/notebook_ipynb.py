""".ipynb notebooks: parsed into the notebook model and rendered back as nbformat 4 JSON.

A Databricks export keeps its language and cell titles in the ``application/vnd.databricks.v1+*``
metadata; a file written here keeps its key order and indent, so an unchanged notebook renders as
it was read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import InputError
from .notebook_model import COMMENT, DB_CELL, DB_NOTEBOOK, MAGIC_LINE, Cell, Notebook, language_of_magic


def parse_ipynb(text: str, raw: bytes, p: Path) -> Notebook:
    if not text.strip():
        raise InputError("the file is empty, not a Jupyter notebook", path=p)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", path=p, line=exc.lineno) from None
    except RecursionError:
        raise InputError("JSON nested too deeply for a notebook", path=p) from None
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise InputError("not a Jupyter notebook (no cells)", path=p)
    major = data.get("nbformat")
    if major is None:
        raise InputError("not a Jupyter notebook (no 'nbformat' number)", path=p)
    if not isinstance(major, int) or isinstance(major, bool) or major < 4:
        raise InputError(f"nbformat {major!r} is not supported (need 4; convert with `jupyter nbconvert --to notebook`)", path=p)
    if not isinstance(data.get("cells"), list):
        raise InputError("'cells' must be a list", path=p)
    meta = _mapping(data.get("metadata"), "the notebook's 'metadata'", p)
    language = (_text(_mapping(meta.get(DB_NOTEBOOK), f"metadata '{DB_NOTEBOOK}'", p).get("language"))
                or _text(_mapping(meta.get("language_info"), "metadata 'language_info'", p).get("name"))
                or _text(_mapping(meta.get("kernelspec"), "metadata 'kernelspec'", p).get("language"))
                or "python").lower()
    indent = 1
    m = re.match(r'\{\n( +)"', text)
    if m:
        indent = len(m.group(1))
    nb = Notebook(
        path=p,
        format="ipynb",
        language=language,
        cells=[],
        raw=raw,
        metadata=meta,
        nbformat_minor=data.get("nbformat_minor", 5),
        _indent=indent,
    )
    for index, cd in enumerate(data["cells"], start=1):
        if not isinstance(cd, dict) or "cell_type" not in cd:
            raise InputError(f"cell {index} is not a notebook cell", path=p)
        src = cd.get("source", "")
        try:  # join raises TypeError for a part that is not text
            source = src if isinstance(src, str) else "".join(src) if isinstance(src, list) else None
        except TypeError:
            source = None
        if source is None:
            raise InputError(f"cell {index}: 'source' must be text or a list of lines", path=p)
        kind = cd["cell_type"]
        if kind not in ("code", "markdown", "raw"):
            raise InputError(f"cell {index}: unknown cell_type {kind!r} (code, markdown or raw)", path=p)
        cmeta = _mapping(cd.get("metadata"), f"cell {index}: 'metadata'", p)
        title = _text(_mapping(cmeta.get(DB_CELL), f"cell {index}: metadata '{DB_CELL}'", p).get("title")) or None
        outputs = cd.get("outputs") or []
        if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
            raise InputError(f"cell {index}: 'outputs' must be a list of outputs", path=p)
        if kind == "markdown":
            cell_language = "md"
        elif kind == "raw":
            cell_language = "raw"
        else:
            mm = MAGIC_LINE.match(source)
            cell_language = language_of_magic(mm.group(1)) if mm else language
            if source.startswith("%%"):
                cell_language = language_of_magic(source[2:].split(None, 1)[0]) if source[2:].strip() else language
        n = source.count("\n") + 1
        cell = Cell(
            language=cell_language,
            source=source,
            kind=kind,
            title=title,
            line=None,
            line_map=list(range(1, n + 1)),
            metadata=cmeta,
            outputs=outputs,
            execution_count=cd.get("execution_count"),
        )
        cell._parsed_source = source
        cell._raw = ""  # parsed from the file: unchanged while source equals _parsed_source
        nb.cells.append(cell)
    return nb


def _mapping(value, what: str, p: Path) -> dict:
    """``value`` when it is a JSON object, {} when absent or null; else the file is malformed."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"{what} must be an object", path=p)
    return value


def _text(value) -> str | None:
    """A metadata value that names something: only text counts (a number or list names nothing)."""
    return value if isinstance(value, str) else None


def render_ipynb(nb: Notebook) -> str:
    """The .ipynb JSON text of ``nb``."""
    language = nb.language if nb.language in COMMENT else "python"
    if nb.format == "ipynb":
        meta = dict(nb.metadata)
    else:
        meta = {
            DB_NOTEBOOK: {"language": language, "notebookName": nb.path.stem},
            "language_info": {"name": language},
        }
        if language == "python":
            meta["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    cells = []
    for cell in nb.cells:
        source = cell.source
        cmeta = dict(cell.metadata)
        if cell.title:
            cmeta.setdefault(DB_CELL, {})
            cmeta[DB_CELL] = {**cmeta[DB_CELL], "title": cell.title}
        if cell.kind == "markdown":
            if source.startswith("%md"):
                source = source.split("\n", 1)[1] if "\n" in source else ""
            cells.append({"cell_type": "markdown", "metadata": cmeta, "source": _split_lines(source)})
        elif cell.kind == "raw":
            cells.append({"cell_type": "raw", "metadata": cmeta, "source": _split_lines(source)})
        else:
            cells.append(
                {
                    "cell_type": "code",
                    "execution_count": cell.execution_count,
                    "metadata": cmeta,
                    "outputs": cell.outputs,
                    "source": _split_lines(source),
                }
            )
    doc = {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": nb.nbformat_minor}
    return json.dumps(doc, indent=nb._indent, sort_keys=True, ensure_ascii=False) + "\n"


def _split_lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)
