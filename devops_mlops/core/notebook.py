"""Notebooks from bytes and back: Databricks source notebooks, .ipynb notebooks and plain files
as one model (:mod:`.notebook_model`, whose names are exported here too).

:func:`loads` parses a file's bytes; :func:`dumps` gives back the original bytes for an unmodified
notebook and a canonical rendering for a changed one; :func:`to_ipynb` / :func:`to_source` convert
between formats. No I/O: :mod:`devops_mlops.files.notebooks` reads, writes and finds the files.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .notebook_ipynb import parse_ipynb, render_ipynb
from .notebook_model import (COMMENT, DB_CELL, DB_NOTEBOOK, HEADER, LANGUAGE_EXT, MAGIC_LINE, MAGICS, MAX_BYTES,
                             SOURCE_LANGUAGES, TITLE_LINE, Cell, Notebook, cell_changed, is_candidate,
                             is_candidate_name, is_header, language_of_magic, notebook_language, strip_outputs,
                             too_large)

__all__ = ["COMMENT", "DB_CELL", "DB_NOTEBOOK", "HEADER", "LANGUAGE_EXT", "MAGICS", "MAX_BYTES", "SOURCE_LANGUAGES",
           "Cell", "Notebook", "dumps", "is_candidate", "is_candidate_name", "is_header", "loads",
           "notebook_language", "render_ipynb", "render_source", "strip_outputs", "to_ipynb", "to_source",
           "too_large"]


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
        return parse_ipynb(text, raw, p)
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
        m = TITLE_LINE.match(body[0][len(c) + 1 :])
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
    m = MAGIC_LINE.match(source) if source[:1] == "%" else None
    cell_language = language_of_magic(m.group(1)) if m else language
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


# ---------------------------------------------------------------- writing


def render_source(nb: Notebook, language: str | None = None) -> str:
    """The Databricks source text of ``nb`` (unchanged cells keep their text)."""
    language = language or (nb.language if nb.language in COMMENT else "python")
    c = COMMENT[language]
    keep_raw = nb.format == "source" and nb.language == language
    parts = []
    for index, cell in enumerate(nb.cells):
        if keep_raw and not cell_changed(cell):
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


def dumps(nb: Notebook) -> bytes:
    """Bytes of ``nb`` in its own format: the original bytes when nothing changed."""
    changed = nb.modified or any(cell_changed(c) for c in nb.cells)
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
