"""The notebook model: a :class:`Notebook` is a list of :class:`Cell`, for Databricks source
notebooks, .ipynb notebooks and plain files alike.

Each cell knows its language (python, sql, scala, r, md, sh, pip, run, fs, ...), its source as the
notebook UI shows it (a magic cell keeps its ``%sql`` first line), its title (``# DBTITLE``) and
where its lines are in the file. Parsing is :mod:`.notebook` (source and plain files) and
:mod:`.notebook_ipynb`; reading and writing files is :mod:`devops_mlops.files.notebooks`.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError


#: extension -> (language, comment prefix) of Databricks source notebooks
SOURCE_LANGUAGES = {
    ".py": ("python", "#"),
    ".sql": ("sql", "--"),
    ".scala": ("scala", "//"),
    ".r": ("r", "#"),
}
LANGUAGE_EXT = {"python": ".py", "sql": ".sql", "scala": ".scala", "r": ".r"}
COMMENT = {"python": "#", "sql": "--", "scala": "//", "r": "#"}


#: magic name -> cell language
MAGICS = {
    "python": "python",
    "sql": "sql",
    "scala": "scala",
    "r": "r",
    "md": "md",
    "sh": "sh",
    "pip": "pip",
    "run": "run",
    "fs": "fs",
    "conda": "pip",
}
HEADER = "Databricks notebook source"
DB_CELL = "application/vnd.databricks.v1+cell"
DB_NOTEBOOK = "application/vnd.databricks.v1+notebook"
MAGIC_LINE = re.compile(r"^%(\w+)\b")
TITLE_LINE = re.compile(r"^DBTITLE \d+,(.*)$")


class Cell:
    """One cell. A plain class, not a dataclass: a run of `mlops lint` makes tens of thousands,
    and importing ``dataclasses`` costs more than its start-up can spare."""

    __slots__ = ("language", "source", "kind", "title", "line", "line_map", "metadata", "outputs",
                 "execution_count", "problems", "_raw", "_parsed_source")

    def __init__(self, language: str, source: str, kind: str = "code", title: str | None = None,
                 line: int | None = None, line_map: list[int] | None = None, metadata: dict | None = None,
                 outputs: list | None = None, execution_count: int | None = None,
                 problems: list[tuple[int, str]] | None = None, _raw: str | None = None,
                 _parsed_source: str | None = None) -> None:
        self.language = language
        self.source = source
        self.kind = kind  # code | markdown | raw
        self.title = title
        #: 1-based file line of the first line of ``source`` (source notebooks, plain files)
        self.line = line
        #: per source line, its 1-based file line (source notebooks, plain files)
        self.line_map = [] if line_map is None else line_map
        #: .ipynb only
        self.metadata = {} if metadata is None else metadata
        self.outputs = [] if outputs is None else outputs
        self.execution_count = execution_count
        #: problems found while parsing: (line in file or cell, message)
        self.problems = [] if problems is None else problems
        self._raw = _raw
        self._parsed_source = _parsed_source

    def __repr__(self) -> str:
        return f"Cell(language={self.language!r}, kind={self.kind!r}, line={self.line!r}, source={self.source[:40]!r})"

    @property
    def magic(self) -> str | None:
        m = MAGIC_LINE.match(self.source)
        return m.group(1) if m else None

    @property
    def body(self) -> str:
        """The code without the ``%magic`` first line (the cell's own language)."""
        if self.magic is None:
            return self.source
        first, _, rest = self.source.partition("\n")
        # a %run / %pip / %sh cell keeps its arguments on the first line
        if self.language in ("run", "pip", "sh", "fs"):
            return first[len(self.magic) + 1 :].strip() + ("\n" + rest if rest else "")
        return rest

    @property
    def run_target(self) -> str | None:
        if self.language != "run":
            return None
        target = self.body.split("\n", 1)[0].strip()
        return target.split()[0].strip("\"'") if target else None

    def file_line(self, cell_line: int) -> int:
        """Map a 1-based line of ``source`` to the file (source notebooks)."""
        if self.line_map and 1 <= cell_line <= len(self.line_map):
            return self.line_map[cell_line - 1]
        return cell_line


class Notebook:
    """A notebook (or plain file) as read: its cells, its raw bytes, its format."""

    def __init__(self, path: Path, format: str, language: str, cells: list[Cell], raw: bytes = b"",
                 metadata: dict | None = None, nbformat_minor: int = 5,
                 problems: list[tuple[int, str]] | None = None, _indent: int = 1, modified: bool = False) -> None:
        self.path = path
        self.format = format  # source | ipynb | plain
        self.language = language
        self.cells = cells
        self.raw = raw
        self.metadata = {} if metadata is None else metadata
        self.nbformat_minor = nbformat_minor
        self.problems = [] if problems is None else problems
        self._indent = _indent
        self.modified = modified

    def __repr__(self) -> str:
        return f"Notebook(path={self.path!r}, format={self.format!r}, language={self.language!r}, cells={len(self.cells)})"

    @property
    def is_notebook(self) -> bool:
        return self.format in ("source", "ipynb")

    @property
    def text(self) -> str:
        """The file's text as read (decoded once)."""
        cached = self.__dict__.get("_text")
        if cached is None:
            cached = self.__dict__["_text"] = self.raw.decode("utf-8", "replace")
        return cached

    @property
    def text_lines(self) -> list[str]:
        """The file's lines as read (computed once)."""
        cached = self.__dict__.get("_text_lines")
        if cached is None:
            cached = self.__dict__["_text_lines"] = self.text.split("\n")
        return cached


def language_of_magic(name: str) -> str:
    """The cell language a ``%name`` magic selects."""
    return MAGICS.get(name.lower(), name.lower())


def notebook_language(path: Path) -> str | None:
    return SOURCE_LANGUAGES.get(path.suffix.lower(), (None, None))[0]


def is_candidate(path: Path) -> bool:
    return path.suffix.lower() in SOURCE_LANGUAGES or path.suffix.lower() == ".ipynb"


def is_candidate_name(name: str) -> bool:
    dot = name.rfind(".")
    return dot > 0 and (name[dot:].lower() in SOURCE_LANGUAGES or name[dot:].lower() == ".ipynb")


#: a larger file is refused before it is read: the size Databricks' workspace import accepts
MAX_BYTES = 10 * 1024 * 1024


def too_large(path: Path, size: int) -> InputError | None:
    if size <= MAX_BYTES:
        return None
    return InputError(f"{size / 1024 / 1024:.1f} MB is larger than the {MAX_BYTES // 1024 // 1024} MB a notebook "
                      "or workspace file may be", path=path, hint="move data out of the notebooks folder")


def is_header(line: str, comment: str) -> bool:
    """Line 1 of a source notebook: the header, or the older export header that carries the
    date (``# Databricks notebook source exported at Mon, 01 Jan 2024 10:00:00 UTC``)."""
    header = f"{comment} {HEADER}"
    return line == header or line.startswith(header + " exported at ")


def cell_changed(cell: Cell) -> bool:
    """Whether ``cell`` was edited (or made) since it was parsed."""
    return cell._raw is None or cell.source != cell._parsed_source


def strip_outputs(nb: Notebook) -> bool:
    """Remove outputs and execution counts from an .ipynb; True when it changed."""
    changed = False
    for cell in nb.cells:
        if cell.outputs or cell.execution_count is not None:
            cell.outputs = []
            cell.execution_count = None
            changed = True
    if changed:
        nb.modified = True
    return changed
