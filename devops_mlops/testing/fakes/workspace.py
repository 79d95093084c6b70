"""An in-memory workspace: the workspace port (devops_mlops/ports/workspace.py) kept in plain
Python, passing the same contract suite as the local and Databricks adapters (tests/contract/),
plus the Git folder calls of the Databricks adapter (``find_repo``, ``create_repo``,
``update_repo``, ``get_repo``) that ``mlops sync`` makes in Git folder mode.

Paths are workspace paths: a notebook has no extension and keeps its language and the format it
came in (SOURCE or JUPYTER); a file keeps its name. A new workspace holds ``/Users``,
``/Shared`` and ``/Repos``. ``import_`` with AUTO tells notebooks from files as the service does
(``.ipynb``, or a source file that starts with the Databricks header). A Git folder pulls the
commit the test put in ``git_heads[(url, branch or tag)]``.

Assertion helpers: ``files`` (path -> bytes), ``notebooks`` (path -> language), ``folders``,
``imported`` (every import: path, format, language), ``objects``, ``repos`` (id -> GitFolder).
"""

from __future__ import annotations

import itertools
import json
import posixpath
import time
from dataclasses import dataclass, replace

from ...adapters.databricks.workspace import GitFolder
from ...errors import ConflictError, ServiceError
from ...ports.workspace import WorkspaceObject

HEADERS = {".py": b"# Databricks notebook source", ".r": b"# Databricks notebook source",
           ".sql": b"-- Databricks notebook source", ".scala": b"// Databricks notebook source"}
LANGUAGES = {".py": "PYTHON", ".r": "R", ".sql": "SQL", ".scala": "SCALA"}
ZERO = "0" * 40


@dataclass
class FakeObject:
    """One workspace object and what a test may read back."""

    path: str
    object_type: str  # DIRECTORY | NOTEBOOK | FILE | REPO
    modified_at: int
    language: str | None = None
    content: bytes = b""
    format: str | None = None  # SOURCE | JUPYTER for notebooks

    def describe(self) -> WorkspaceObject:
        size = len(self.content) if self.object_type == "FILE" else None
        return WorkspaceObject(self.path, self.object_type, self.language, self.modified_at, size)


class FakeWorkspace:
    """The workspace port over a dict of :class:`FakeObject` by path."""

    def __init__(self, user: str = "ci@example.com") -> None:
        self.objects: dict[str, FakeObject] = {}
        self.imported: list[tuple[str, str, str | None]] = []
        self.repos: dict[int, GitFolder] = {}
        #: (git url, branch or tag) -> the commit a pull of the Git folder lands on
        self.git_heads: dict[tuple[str, str], str] = {}
        self._last_ms = 0
        self._ids = itertools.count(1)
        for path in ("/", "/Users", "/Shared", "/Repos", f"/Users/{user}"):
            self._put(FakeObject(path, "DIRECTORY", self._now()))

    # ------------------------------------------------------------ helpers for tests
    @property
    def files(self) -> dict[str, bytes]:
        """Every notebook and file: path -> content."""
        return {p: o.content for p, o in self.objects.items() if o.object_type in ("NOTEBOOK", "FILE")}

    @property
    def notebooks(self) -> dict[str, str | None]:
        return {p: o.language for p, o in self.objects.items() if o.object_type == "NOTEBOOK"}

    @property
    def folders(self) -> list[str]:
        return sorted(p for p, o in self.objects.items() if o.object_type == "DIRECTORY")

    # ------------------------------------------------------------ state
    def _now(self) -> int:
        self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
        return self._last_ms

    def _put(self, obj: FakeObject) -> FakeObject:
        self.objects[obj.path] = obj
        return obj

    @staticmethod
    def _norm(path: str) -> str:
        if not path.startswith("/"):
            raise ServiceError(f"workspace path {path!r} must be absolute")
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise ServiceError(f"workspace path {path!r} must not contain . or ..")
        return "/" + "/".join(parts)

    def _is_folder(self, path: str) -> bool:
        obj = self.objects.get(path)
        return obj is not None and obj.object_type in ("DIRECTORY", "REPO")

    def _below(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        return [p for p in self.objects if p.startswith(prefix) and p != "/"]

    # ------------------------------------------------------------ port
    def list(self, path: str) -> list[WorkspaceObject]:
        obj = self.objects.get(self._norm(path))
        if obj is None:
            return []
        if obj.object_type not in ("DIRECTORY", "REPO"):
            return [obj.describe()]
        prefix = obj.path.rstrip("/") + "/"
        kids = [o for p, o in self.objects.items() if p.startswith(prefix) and "/" not in p[len(prefix):] and p != "/"]
        return [o.describe() for o in sorted(kids, key=lambda o: o.path)]

    def get_status(self, path: str) -> WorkspaceObject | None:
        obj = self.objects.get(self._norm(path))
        return obj.describe() if obj else None

    def mkdirs(self, path: str) -> None:
        cur = ""
        for part in [p for p in self._norm(path).split("/") if p]:
            cur += "/" + part
            obj = self.objects.get(cur)
            if obj is None:
                self._put(FakeObject(cur, "DIRECTORY", self._now()))
            elif obj.object_type not in ("DIRECTORY", "REPO"):
                raise ServiceError(f"mkdirs {path}: {cur} exists and is not a folder")

    def import_(self, path: str, content: bytes, *, format: str, language: str | None, overwrite: bool) -> None:
        target, fmt = self._norm(path), format.upper()
        if fmt == "AUTO":
            ext = posixpath.splitext(target)[1]
            if ext == ".ipynb":
                fmt, target = "JUPYTER", target[: -len(ext)]
            elif ext in HEADERS and content.lstrip().startswith(HEADERS[ext]):
                fmt, language, target = "SOURCE", LANGUAGES[ext], target[: -len(ext)]
            else:
                fmt = "RAW"
        if fmt == "SOURCE":
            if not language or language.upper() not in LANGUAGES.values():
                raise ServiceError(f"import {path}: the language is required for the SOURCE format")
            language = language.upper()
        elif fmt == "JUPYTER":
            language = _jupyter_language(content, path)
        elif fmt == "RAW":
            language = None
        else:
            raise ServiceError(f"import {path}: unsupported format {format}")
        if not self._is_folder(posixpath.dirname(target)):
            raise ServiceError(f"import {path}: not found (the parent folder does not exist)")
        existing = self.objects.get(target)
        if existing is not None:
            if existing.object_type in ("DIRECTORY", "REPO"):
                raise ConflictError(f"import {path}: a folder exists there")
            if not overwrite:
                raise ConflictError(f"import {path}: {target} already exists")
        kind = "FILE" if fmt == "RAW" else "NOTEBOOK"
        self._put(FakeObject(target, kind, self._now(), language, bytes(content), None if kind == "FILE" else fmt))
        self.imported.append((target, fmt, language))

    def export(self, path: str, *, format: str) -> bytes:
        obj = self.objects.get(self._norm(path))
        if obj is None:
            raise ServiceError(f"export {path}: not found")
        if obj.object_type in ("DIRECTORY", "REPO"):
            raise ServiceError(f"export {path}: a folder cannot be exported in {format}")
        return obj.content

    def delete(self, path: str, *, recursive: bool = False) -> None:
        target = self._norm(path)
        if target not in self.objects:
            return
        below = self._below(target)
        if below and not recursive:
            raise ServiceError(f"delete {path}: the folder is not empty (use recursive)")
        for p in below + [target]:
            del self.objects[p]
        self.repos = {i: r for i, r in self.repos.items() if r.path in self.objects}

    # ------------------------------------------------------------ Git folders
    def find_repo(self, path: str) -> GitFolder | None:
        found = next((r for r in self.repos.values() if r.path == path.rstrip("/")), None)
        return replace(found) if found else None

    def get_repo(self, repo_id: int) -> GitFolder:
        if repo_id not in self.repos:
            raise ServiceError(f"get Git folder {repo_id}: not found")
        return replace(self.repos[repo_id])

    def create_repo(self, url: str, provider: str, path: str) -> GitFolder:
        target = self._norm(path)
        found = self.find_repo(target)
        if found is not None:  # what the adapter answers when its earlier create landed
            return found
        if target in self.objects:
            raise ConflictError(f"create Git folder {path}: {target} already exists")
        self.mkdirs(posixpath.dirname(target))
        self._put(FakeObject(target, "REPO", self._now()))
        repo = GitFolder(next(self._ids), target, url, provider, "main", self.git_heads.get((url, "main"), ZERO))
        self.repos[repo.id] = repo
        return replace(repo)

    def update_repo(self, repo_id: int, *, branch: str | None = None, tag: str | None = None, path: str = "") -> None:
        repo = self.repos.get(repo_id)
        if repo is None:
            raise ServiceError(f"update Git folder {path or repo_id}: not found")
        ref = branch or tag
        if not ref:
            return
        head = self.git_heads.get((repo.url or "", ref))
        if head is None:
            raise ServiceError(f"Branch or tag {ref} does not exist in the remote repository",
                               hint="push the branch or tag first, or fix branch/tag in mlops.yaml")
        repo.head_commit_id, repo.branch = head, branch


def _jupyter_language(content: bytes, path: str) -> str:
    try:
        meta = json.loads(content).get("metadata") or {}
    except (ValueError, AttributeError):
        raise ServiceError(f"import {path}: the content is not a Jupyter notebook") from None
    language = str((meta.get("kernelspec") or {}).get("language") or "python").upper()
    return language if language in LANGUAGES.values() else "PYTHON"
