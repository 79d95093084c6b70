"""Workspace port on the local disk: ``.mlops/workspace/<target>/``.

Workspace paths map to files the way the Databricks workspace shows them: a notebook
``/a/train`` is the file ``a/train.py`` (``.sql`` ``.scala`` ``.r`` by language, starting with the
``Databricks notebook source`` header) or ``a/train.ipynb``; a plain file keeps its own name.
``modified_at`` is the file's modification time in epoch milliseconds.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ...errors import ConflictError, ServiceError
from ...ports.workspace import WorkspaceObject

LANG_EXT = {"PYTHON": ".py", "SQL": ".sql", "SCALA": ".scala", "R": ".r"}
EXT_LANG = {v: k for k, v in LANG_EXT.items()}
HEADER = {".py": b"# Databricks notebook source", ".r": b"# Databricks notebook source",
          ".sql": b"-- Databricks notebook source", ".scala": b"// Databricks notebook source"}


def _is_source_notebook(p: Path) -> bool:
    head = HEADER.get(p.suffix)
    if head is None:
        return False
    try:
        with p.open("rb") as f:
            return f.read(len(head) + 3).lstrip(b"\xef\xbb\xbf").startswith(head)
    except OSError:
        return False


def _mtime(p: Path) -> int:
    return p.stat().st_mtime_ns // 1_000_000


class LocalWorkspace:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    # ------------------------------------------------------------ mapping
    def _fs(self, path: str) -> Path:
        if not path.startswith("/"):
            raise ServiceError(f"workspace path {path!r} must be absolute")
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise ServiceError(f"workspace path {path!r} must not contain . or ..")
        return self.root.joinpath(*parts)

    def resolve(self, path: str) -> tuple[Path, WorkspaceObject] | None:
        """The file behind a workspace path and what it is; None when nothing is there."""
        base = self._fs(path)
        if base.is_dir():
            return base, WorkspaceObject(path, "DIRECTORY", modified_at=_mtime(base))
        for ext, lang in EXT_LANG.items():
            cand = base.with_name(base.name + ext) if base.name else None
            if cand is not None and cand.is_file() and _is_source_notebook(cand):
                return cand, WorkspaceObject(path, "NOTEBOOK", lang, _mtime(cand))
        cand = base.with_name(base.name + ".ipynb") if base.name else None
        if cand is not None and cand.is_file():
            return cand, WorkspaceObject(path, "NOTEBOOK", "PYTHON", _mtime(cand))
        if base.is_file() and not (base.suffix == ".ipynb" or _is_source_notebook(base)):
            return base, WorkspaceObject(path, "FILE", None, _mtime(base), base.stat().st_size)
        return None

    def _describe(self, parent: str, entry: Path) -> WorkspaceObject:
        prefix = parent.rstrip("/")
        if entry.is_dir():
            return WorkspaceObject(f"{prefix}/{entry.name}", "DIRECTORY", modified_at=_mtime(entry))
        if entry.suffix == ".ipynb":
            return WorkspaceObject(f"{prefix}/{entry.stem}", "NOTEBOOK", "PYTHON", _mtime(entry))
        if _is_source_notebook(entry):
            return WorkspaceObject(f"{prefix}/{entry.stem}", "NOTEBOOK", EXT_LANG[entry.suffix], _mtime(entry))
        return WorkspaceObject(f"{prefix}/{entry.name}", "FILE", None, _mtime(entry), entry.stat().st_size)

    # ------------------------------------------------------------ port
    def list(self, path: str) -> list[WorkspaceObject]:
        found = self.resolve(path)
        if found is None:
            return []
        fs, obj = found
        if obj.object_type != "DIRECTORY":
            return [obj]
        return sorted((self._describe(path, e) for e in fs.iterdir() if not e.name.startswith(".mlops-tmp")),
                      key=lambda o: o.path)

    def get_status(self, path: str) -> WorkspaceObject | None:
        found = self.resolve(path)
        return found[1] if found else None

    def mkdirs(self, path: str) -> None:
        fs = self._fs(path)
        cur = self.root
        for part in fs.relative_to(self.root).parts:
            cur = cur / part
            if cur.exists() and not cur.is_dir():
                raise ServiceError(f"mkdirs {path}: {cur.relative_to(self.root).as_posix()} exists and is not a folder")
        fs.mkdir(parents=True, exist_ok=True)

    def import_(self, path: str, content: bytes, *, format: str, language: str | None, overwrite: bool) -> None:
        fmt = format.upper()
        base = self._fs(path)
        if fmt == "AUTO":
            ext = base.suffix
            if ext == ".ipynb":
                fmt, base = "JUPYTER", base.with_suffix("")
            elif ext in HEADER and content.lstrip().startswith(HEADER[ext]):
                fmt, language, base = "SOURCE", EXT_LANG[ext], base.with_suffix("")
            else:
                fmt = "RAW"
        if fmt == "SOURCE":
            if not language or language.upper() not in LANG_EXT:
                raise ServiceError(f"import {path}: the language is required for the SOURCE format")
            target = base.with_name(base.name + LANG_EXT[language.upper()])
        elif fmt == "JUPYTER":
            target = base.with_name(base.name + ".ipynb")
        elif fmt == "RAW":
            target = base
        else:
            raise ServiceError(f"import {path}: unsupported format {format}")
        if not base.parent.is_dir():
            raise ServiceError(f"import {path}: not found (the parent folder does not exist)")
        logical = "/" + base.relative_to(self.root).as_posix()
        existing = self.resolve(logical)
        if existing is not None:
            if existing[1].object_type == "DIRECTORY":
                raise ConflictError(f"import {path}: a folder exists there")
            if not overwrite:
                raise ConflictError(f"import {path}: {logical} already exists")
        fd, tmp = tempfile.mkstemp(dir=base.parent, prefix=".mlops-tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(content)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if existing is not None and existing[0] != target:
            existing[0].unlink(missing_ok=True)  # e.g. a Python notebook re-imported as SQL

    def export(self, path: str, *, format: str) -> bytes:
        found = self.resolve(path)
        if found is None:
            raise ServiceError(f"export {path}: not found")
        fs, obj = found
        if obj.object_type == "DIRECTORY":
            raise ServiceError(f"export {path}: a folder cannot be exported in {format}")
        return fs.read_bytes()

    def delete(self, path: str, *, recursive: bool = False) -> None:
        found = self.resolve(path)
        if found is None:
            return
        fs, obj = found
        if obj.object_type == "DIRECTORY":
            if any(fs.iterdir()) and not recursive:
                raise ServiceError(f"delete {path}: the folder is not empty (use recursive)")
            shutil.rmtree(fs)
        else:
            fs.unlink()


def workspace_root(ctx: Any) -> Path:
    return ctx.state_dir / "workspace" / ctx.target.name


def from_context(ctx: Any) -> LocalWorkspace:
    root = workspace_root(ctx)
    root.mkdir(parents=True, exist_ok=True)
    return LocalWorkspace(root)
