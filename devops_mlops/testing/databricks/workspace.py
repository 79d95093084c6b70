"""Workspace API 2.0 of the Databricks emulator: notebooks, files and folders by path.

Routes: ``list``, ``get-status``, ``mkdirs``, ``import`` (SOURCE / JUPYTER / RAW / AUTO, base64
content, ``overwrite``), ``export``, ``delete`` (``recursive``). A new workspace holds ``/``,
``/Users``, ``/Shared``, ``/Repos`` and the user's home folder.

State: ``objects`` (path -> :class:`WsObject`). Assertion helpers: ``files`` (path -> bytes),
``folders``, ``imports(under)``, ``edit(path, content)`` (a change made in the workspace UI).
"""

from __future__ import annotations

import base64
import itertools
import json
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..http import Request
from .server import err

HEADERS = {"PYTHON": "# Databricks notebook source", "SQL": "-- Databricks notebook source",
           "SCALA": "// Databricks notebook source", "R": "# Databricks notebook source"}
EXT_LANG = {".py": "PYTHON", ".sql": "SQL", ".scala": "SCALA", ".r": "R", ".R": "R"}
JUPYTER_LANG = {"python": "PYTHON", "sql": "SQL", "scala": "SCALA", "r": "R"}


@dataclass
class WsObject:
    path: str
    object_type: str  # DIRECTORY | NOTEBOOK | FILE | REPO
    object_id: int
    created_at: int
    modified_at: int
    language: str | None = None
    content: bytes = b""
    fmt: str | None = None  # how a notebook was imported: SOURCE | JUPYTER

    def info(self) -> dict[str, Any]:
        """The object as ``get-status`` and ``list`` answer it."""
        out: dict[str, Any] = {"object_type": self.object_type, "path": self.path, "object_id": self.object_id,
                               "created_at": self.created_at, "modified_at": self.modified_at,
                               "resource_id": str(self.object_id)}
        if self.language:
            out["language"] = self.language
        if self.object_type == "FILE":
            out["size"] = len(self.content)
        return out


def source_language(path: str, content: bytes) -> str | None:
    """The language of a source notebook file (by extension and header), None for a plain file."""
    ext = posixpath.splitext(path)[1]
    if ext in EXT_LANG and content.lstrip().startswith(HEADERS[EXT_LANG[ext]].encode()):
        return EXT_LANG[ext]
    return None


class WorkspaceArea:
    """Mixin of :class:`~devops_mlops.testing.databricks.DatabricksEmulator`; state: ``objects``."""

    user: str
    lock: Any
    route: Callable[..., None]
    _now: Callable[[], int]
    requests_by_path: Callable[..., list[Request]]

    def _install_workspace(self) -> None:
        self.objects: dict[str, WsObject] = {}
        self._ids: Iterator[int] = itertools.count(1000)
        self._mk("/", "DIRECTORY")
        for p in ("/Users", "/Shared", "/Repos", f"/Users/{self.user}"):
            self._mk(p, "DIRECTORY")
        r = self.route
        r("GET", "/api/2.0/workspace/list", self._ws_list)
        r("GET", "/api/2.0/workspace/get-status", self._ws_status)
        r("POST", "/api/2.0/workspace/mkdirs", self._ws_mkdirs)
        r("POST", "/api/2.0/workspace/import", self._ws_import)
        r("GET", "/api/2.0/workspace/export", self._ws_export)
        r("POST", "/api/2.0/workspace/delete", self._ws_delete)

    # ------------------------------------------------------------ helpers for tests
    @property
    def files(self) -> dict[str, bytes]:
        """Every notebook and file: path -> content."""
        with self.lock:
            return {p: o.content for p, o in self.objects.items() if o.object_type in ("NOTEBOOK", "FILE")}

    @property
    def folders(self) -> list[str]:
        with self.lock:
            return sorted(p for p, o in self.objects.items() if o.object_type == "DIRECTORY")

    def imports(self, under: str = "") -> list[Request]:
        return [r for r in self.requests_by_path(r"/api/2\.0/workspace/import$", "POST")
                if (r.json or {}).get("path", "").startswith(under)]

    def edit(self, path: str, content: bytes) -> None:
        """A change made in the workspace UI (new content, new modified_at)."""
        with self.lock:
            obj = self.objects[path]
            obj.content = content
            obj.modified_at = self._now()

    # ------------------------------------------------------------ state helpers
    def _mk(self, path: str, kind: str, **kw: Any) -> WsObject:
        now = self._now()
        obj = WsObject(path, kind, next(self._ids), now, now, **kw)
        self.objects[path] = obj
        return obj

    @staticmethod
    def _norm(path: str | None) -> str:
        if not path or not path.startswith("/"):
            raise err(400, "INVALID_PARAMETER_VALUE", f"Path ({path}) must be absolute")
        out = posixpath.normpath(path)
        return "/" if out in ("/", "//") else out

    def _children(self, path: str) -> list[WsObject]:
        prefix = path.rstrip("/") + "/"
        return [o for p, o in self.objects.items() if p.startswith(prefix) and "/" not in p[len(prefix):] and p != "/"]

    def _mkdirs(self, path: str) -> None:
        parts = [p for p in path.split("/") if p]
        cur = ""
        for part in parts:
            cur += "/" + part
            obj = self.objects.get(cur)
            if obj is None:
                self._mk(cur, "DIRECTORY")
            elif obj.object_type not in ("DIRECTORY", "REPO"):
                raise err(400, "RESOURCE_ALREADY_EXISTS", f"Path ({cur}) already exists and is not a directory.")

    def _existing(self, path: str) -> WsObject:
        obj = self.objects.get(path)
        if obj is None:
            raise err(404, "RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")
        return obj

    # ------------------------------------------------------------ routes
    def _ws_list(self, q: Request) -> dict:
        path = self._norm(q.arg("path"))
        obj = self._existing(path)
        if obj.object_type not in ("DIRECTORY", "REPO"):
            return {"objects": [obj.info()]}
        kids = sorted(self._children(path), key=lambda o: o.path)
        return {"objects": [o.info() for o in kids]} if kids else {}

    def _ws_status(self, q: Request) -> dict:
        return self._existing(self._norm(q.arg("path"))).info()

    def _ws_mkdirs(self, q: Request) -> dict:
        self._mkdirs(self._norm((q.json or {}).get("path")))
        return {}

    def _ws_import(self, q: Request) -> dict:
        body = q.json or {}
        path = self._norm(body.get("path"))
        fmt = (body.get("format") or "SOURCE").upper()
        language = body.get("language")
        try:
            content = base64.b64decode(body.get("content") or "", validate=True)
        except ValueError:
            raise err(400, "INVALID_PARAMETER_VALUE", "content is not valid base64") from None
        kind = "NOTEBOOK"
        if fmt == "AUTO":
            ext = posixpath.splitext(path)[1]
            found = source_language(path, content)
            if ext == ".ipynb":
                fmt, path = "JUPYTER", path[: -len(ext)]
            elif found:
                fmt, language, path = "SOURCE", found, path[: -len(ext)]
            else:
                fmt = "RAW"
        if fmt == "RAW":
            kind, language = "FILE", None
        elif fmt == "SOURCE":
            if language not in HEADERS:
                raise err(400, "INVALID_PARAMETER_VALUE", "The language is required for the SOURCE format")
        elif fmt == "JUPYTER":
            try:
                nb = json.loads(content)
                lang = ((nb.get("metadata") or {}).get("kernelspec") or {}).get("language") or "python"
            except ValueError:
                raise err(400, "INVALID_PARAMETER_VALUE", "Unable to parse the notebook as Jupyter") from None
            language = JUPYTER_LANG.get(lang.lower(), "PYTHON")
        else:
            raise err(400, "INVALID_PARAMETER_VALUE", f"Unsupported import format {fmt}")
        parent = posixpath.dirname(path)
        pobj = self.objects.get(parent)
        if pobj is None or pobj.object_type not in ("DIRECTORY", "REPO"):
            raise err(404, "RESOURCE_DOES_NOT_EXIST", f"The parent folder ({parent}) does not exist.")
        existing = self.objects.get(path)
        if existing is not None:
            if not body.get("overwrite"):
                raise err(400, "RESOURCE_ALREADY_EXISTS", f"{path} already exists.")
            if existing.object_type in ("DIRECTORY", "REPO"):
                raise err(400, "RESOURCE_ALREADY_EXISTS", f"{path} already exists as a directory.")
            existing.object_type, existing.language, existing.content, existing.fmt = kind, language, content, fmt
            existing.modified_at = self._now()
        else:
            self._mk(path, kind, language=language, content=content, fmt=fmt if kind == "NOTEBOOK" else None)
        return {}

    def _ws_export(self, q: Request) -> dict:
        obj = self._existing(self._norm(q.arg("path")))
        if obj.object_type in ("DIRECTORY", "REPO"):
            raise err(400, "INVALID_PARAMETER_VALUE", "Exporting a directory needs format DBC or AUTO")
        file_type = {"PYTHON": "py", "SQL": "sql", "SCALA": "scala", "R": "r"}.get(obj.language or "", "")
        if obj.fmt == "JUPYTER":
            file_type = "ipynb"
        return {"content": base64.b64encode(obj.content).decode(), "file_type": file_type}

    def _ws_delete(self, q: Request) -> dict:
        body = q.json or {}
        path = self._norm(body.get("path"))
        self._existing(path)
        prefix = path.rstrip("/") + "/"
        below = [p for p in self.objects if p.startswith(prefix)]
        if below and not body.get("recursive"):
            raise err(400, "DIRECTORY_NOT_EMPTY", f"Folder ({path}) is not empty.")
        for p in below + [path]:
            del self.objects[p]
        return {}
