"""One model for Databricks source notebooks, .ipynb notebooks and plain files.

A :class:`Notebook` is a list of :class:`Cell`; each cell knows its language
(python, sql, scala, r, md, sh, pip, run, fs, ...), its source as the notebook
UI shows it (a magic cell keeps its ``%sql`` first line), its title
(``# DBTITLE``) and where its lines are in the file. :func:`dumps` gives back
the original bytes for an unmodified notebook and a canonical rendering for a
changed one; :func:`to_ipynb` / :func:`to_source` convert between formats.
"""

from __future__ import annotations

import json
import os
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
_MAGIC_LINE = re.compile(r"^%(\w+)\b")
_TITLE = re.compile(r"^DBTITLE \d+,(.*)$")


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
        m = _MAGIC_LINE.match(self.source)
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


def _lang_from_magic(name: str) -> str:
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


def read(path: str | Path) -> Notebook:
    p = Path(path)
    return loads(read_bytes(p), p)


def read_bytes(p: Path) -> bytes:
    """The bytes of a notebook file (InputError naming it when it cannot be read). Plain
    ``os.open``/``os.read``: a third cheaper than a buffered file object per file."""
    try:
        fd = os.open(p, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            big = too_large(p, size)
            if big:
                raise big
            data = os.read(fd, size + 1)
            if len(data) > size or len(data) < size:  # grew or shrank meanwhile: read to the end
                chunks = [data]
                while more := os.read(fd, 1 << 20):
                    chunks.append(more)
                data = b"".join(chunks)
        finally:
            os.close(fd)
        return data
    except FileNotFoundError:
        raise InputError("file not found", path=p) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a notebook", path=p) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=p) from None


def loads(raw: bytes, path: str | Path) -> Notebook:
    p = Path(path)
    if b"\x00" in raw[:8192]:
        raise InputError("binary file, not a notebook", path=p)
    try:
        text = raw.decode("utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError("not UTF-8 text", path=p, line=line) from None
    if p.suffix.lower() == ".ipynb":
        return _parse_ipynb(text, raw, p)
    language = notebook_language(p)
    if language is not None:
        first = text.split("\n", 1)[0].rstrip("\r")
        if is_header(first, COMMENT[language]):
            return _parse_source(text, raw, p, language)
        for other, prefix in COMMENT.items():
            if is_header(first, prefix) and prefix != COMMENT[language]:
                raise InputError(
                    f"header '{first}' uses the comment of {other}, but a {p.suffix} notebook starts "
                    f"with '{COMMENT[language]} {HEADER}'",
                    path=p,
                    line=1,
                )
    return _plain(text, raw, p, language or "text")


def is_header(line: str, comment: str) -> bool:
    """Line 1 of a source notebook: the header, or the older export header that carries the
    date (``# Databricks notebook source exported at Mon, 01 Jan 2024 10:00:00 UTC``)."""
    header = f"{comment} {HEADER}"
    return line == header or line.startswith(header + " exported at ")


def _plain(text: str, raw: bytes, p: Path, language: str) -> Notebook:
    n = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    cell = Cell(language=language, source=text, line=1, line_map=list(range(1, n + 1)), _raw=text)
    cell._parsed_source = text
    return Notebook(path=p, format="plain", language=language, cells=[cell], raw=raw)


def _parse_source(text: str, raw: bytes, p: Path, language: str) -> Notebook:
    c = COMMENT[language]
    sep = f"{c} COMMAND ----------"
    magic_prefix = f"{c} MAGIC"
    lines = text.split("\n")
    # separator lines, found by searching the text (a line-by-line loop is the slow part
    # of reading a thousand notebooks)
    seps: list[int] = []
    needle = "\n" + sep
    counted, line_index = 0, 0
    pos = text.find(needle)
    while pos != -1:
        end = pos + len(needle)
        eol = text.find("\n", end)
        line_index += text.count("\n", counted, pos + 1)
        counted = pos + 1
        if not text[end : eol if eol != -1 else len(text)].strip("\r"):
            seps.append(line_index)  # the separator line's index in ``lines``
        pos = text.find(needle, end)
    nb = Notebook(path=p, format="source", language=language, cells=[], raw=raw)
    start = 1
    for index in seps + [len(lines)]:
        nb.cells.append(_parse_chunk(lines[start:index], start + 1, language, c, magic_prefix))
        start = index + 1
    return nb


def _parse_chunk(chunk: list[str], first_line: int, language: str, c: str, magic_prefix: str) -> Cell:
    raw = "\n".join(chunk)
    body = [ln.rstrip("\r") for ln in chunk] if "\r" in raw else chunk
    # drop blank padding around the cell
    lo, hi = 0, len(body)
    while lo < hi and not body[lo].strip():
        lo += 1
    while hi > lo and not body[hi - 1].strip():
        hi -= 1
    body = body[lo:hi]
    first = first_line + lo
    title = None
    if body and body[0].startswith(c + " "):
        m = _TITLE.match(body[0][len(c) + 1 :])
        if m:
            title = m.group(1)
            body = body[1:]
            first += 1
    numbers = list(range(first, first + len(body)))
    problems: list[tuple[int, str]] = []
    is_magic = bool(body) and (body[0] == magic_prefix or body[0].startswith(magic_prefix + " "))
    if is_magic:
        prefixed = magic_prefix + " "
        cut = len(prefixed)
        if all(ln.startswith(prefixed) or ln == magic_prefix for ln in body):
            src_lines = [ln[cut:] for ln in body]  # the usual case ('# MAGIC' alone gives "")
        else:
            src_lines = []
            for ln, num in zip(body, numbers):
                if ln == magic_prefix:
                    src_lines.append("")
                elif ln.startswith(prefixed):
                    src_lines.append(ln[cut:])
                else:
                    problems.append((num, f"line without '{magic_prefix}' inside a magic cell"))
                    src_lines.append(ln)
        if src_lines and src_lines[0][:1].isspace() and src_lines[0].lstrip().startswith("%"):
            src_lines[0] = src_lines[0].lstrip()  # '# MAGIC  %md': the magic all the same
        source = "\n".join(src_lines)
    else:
        source = "\n".join(body)
        if magic_prefix in source:  # only then look line by line
            for ln, num in zip(body, numbers):
                if ln.startswith(magic_prefix + " ") or ln == magic_prefix:
                    problems.append((num, f"'{magic_prefix}' line outside a magic cell"))
    m = _MAGIC_LINE.match(source) if source[:1] == "%" else None
    cell_language = _lang_from_magic(m.group(1)) if m else language
    cell = Cell(
        language=cell_language,
        source=source,
        kind="markdown" if cell_language == "md" else "code",
        title=title,
        line=numbers[0] if numbers else first_line,
        line_map=numbers,
        problems=problems,
        _raw=raw,
    )
    cell._parsed_source = source
    return cell


def _parse_ipynb(text: str, raw: bytes, p: Path) -> Notebook:
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
            mm = _MAGIC_LINE.match(source)
            cell_language = _lang_from_magic(mm.group(1)) if mm else language
            if source.startswith("%%"):
                cell_language = _lang_from_magic(source[2:].split(None, 1)[0]) if source[2:].strip() else language
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


# ---------------------------------------------------------------- writing


def _cell_changed(cell: Cell) -> bool:
    return cell._raw is None or cell.source != cell._parsed_source


def render_source(nb: Notebook, language: str | None = None) -> str:
    """The Databricks source text of ``nb`` (unchanged cells keep their text)."""
    language = language or (nb.language if nb.language in COMMENT else "python")
    c = COMMENT[language]
    keep_raw = nb.format == "source" and nb.language == language
    parts = []
    for index, cell in enumerate(nb.cells):
        if keep_raw and not _cell_changed(cell):
            parts.append(cell._raw)
            continue
        parts.append(("\n" if index else "") + _render_cell(cell, language, c) + "\n")
    text = f"{c} {HEADER}\n" + f"\n{c} COMMAND ----------\n".join(parts)
    return text


def _render_cell(cell: Cell, language: str, c: str) -> str:
    out = []
    if cell.title:
        out.append(f"{c} DBTITLE 1,{cell.title}")
    source = cell.source
    if cell.kind == "markdown" and not source.startswith("%md"):
        source = "%md\n" + source
    if cell.kind == "raw":
        source = "%md\n" + source
    needs_magic = cell.language != language or (source.startswith("%") and cell.language != language)
    if cell.language == language and source.startswith(f"%{language}"):
        needs_magic = True
    if needs_magic or cell.kind != "code" or cell.language in ("run", "pip", "sh", "fs", "md"):
        out.extend(f"{c} MAGIC {ln}" if ln else f"{c} MAGIC" for ln in source.split("\n"))
    else:
        out.append(source)
    return "\n".join(out)


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


def dumps(nb: Notebook) -> bytes:
    """Bytes of ``nb`` in its own format: the original bytes when nothing changed."""
    changed = nb.modified or any(_cell_changed(c) for c in nb.cells)
    if not changed:
        return nb.raw
    if nb.format == "ipynb":
        return render_ipynb(nb).encode("utf-8")
    if nb.format == "source":
        return render_source(nb).encode("utf-8")
    return nb.cells[0].source.encode("utf-8")


def to_ipynb(nb: Notebook, path: Path | None = None) -> Notebook:
    out = loads(render_ipynb(nb).encode("utf-8"), path or nb.path.with_suffix(".ipynb"))
    return out


def to_source(nb: Notebook, path: Path | None = None) -> Notebook:
    language = nb.language if nb.language in COMMENT else "python"
    target = path or nb.path.with_suffix(LANGUAGE_EXT[language])
    copy = Notebook(path=target, format="ipynb-converting", language=language, cells=nb.cells)
    return loads(render_source(copy, language).encode("utf-8"), target)


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


def write(nb: Notebook, path: Path | None = None) -> None:
    """Write atomically (a temporary file renamed into place)."""
    target = Path(path or nb.path)
    data = dumps(nb)
    tmp = target.with_name(f".{target.name}.mlops-tmp")
    tmp.write_bytes(data)
    tmp.replace(target)


def iter_notebook_files(paths: list[Path], exclude: list[str] | None = None) -> list[Path]:
    """Notebook candidates under ``paths`` (files given explicitly are kept as they are), in
    path order; hidden files and folders and ``__pycache__`` are skipped. Folders are listed with
    ``os.scandir`` (a file's type comes with its name: no ``stat`` per file); as with ``os.walk``,
    a linked folder is not entered and an unreadable one is skipped."""
    import fnmatch

    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            rels: list[tuple[str, ...]] = []
            _scan(os.fspath(p), (), rels)
            for parts in sorted(rels):
                if exclude:
                    rel = "/".join(parts)
                    if any(fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(parts[-1], pat) for pat in exclude):
                        continue
                found.append(p.joinpath(*parts))
        elif p.exists():
            found.append(p)
        else:
            raise InputError("no such file or folder", path=p)
    return found


def _scan(folder: str, parts: tuple[str, ...], out: list[tuple[str, ...]]) -> None:
    try:
        entries = os.scandir(folder)
    except OSError:
        return
    below = []
    with entries:
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if name != "__pycache__" and not entry.is_symlink():
                    below.append(entry)
            elif is_candidate_name(name) and _is_file(entry):
                out.append(parts + (name,))
    for entry in below:
        _scan(entry.path, parts + (entry.name,), out)


def _is_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()
    except OSError:  # as os.path.isfile
        return False
