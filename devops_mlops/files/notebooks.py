"""Notebook files on disk: read (refusing what is too large or not text), written atomically, and
found under folders; and the file a ``%run`` names.

The parsing and rendering is pure and lives in :mod:`devops_mlops.core.notebook`; this module hands
it bytes and takes bytes back.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ..core.notebook import Notebook, dumps, is_candidate_name, loads, too_large
from ..errors import InputError

#: the extensions a ``%run`` target may leave out, tried in this order
RUN_EXTENSIONS = ("", ".py", ".sql", ".scala", ".r", ".R", ".ipynb")


def read(path: str | Path) -> Notebook:
    """The notebook in the file ``path`` (InputError naming it when it cannot be read or parsed)."""
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


def resolve_run_target(notebook_path: Path, target: str) -> Path | None:
    """The file a relative ``%run`` target names, with or without extension."""
    if target.startswith("/"):
        return None
    return _resolve(os.path.dirname(os.path.abspath(notebook_path)), target)


def run_resolver(cwd: str):
    """A ``run_resolver(nb, target)`` for :func:`devops_mlops.core.lint.check_notebook`, for notebook paths relative to
    ``cwd``: the file a ``%run`` names, looked up once per folder and target."""
    cache: dict[tuple[str, str], Path | None] = {}

    def resolve(nb, target: str) -> Path | None:
        key = (os.path.dirname(nb.path), target)
        if key not in cache:
            cache[key] = resolve_run_target(os.path.join(cwd, nb.path), target)
        return cache[key]

    return resolve


@functools.lru_cache(maxsize=4096)
def _resolve(folder: str, target: str) -> Path | None:
    base = os.path.normpath(os.path.join(folder, target))
    for ext in RUN_EXTENSIONS:
        if os.path.isfile(base + ext):
            return Path(base + ext)
    return None
