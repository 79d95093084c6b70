"""Workspace port: where notebooks live on the target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class WorkspaceObject:
    path: str  # absolute workspace path (no extension for notebooks)
    object_type: str  # NOTEBOOK | FILE | DIRECTORY | REPO
    language: str | None = None  # PYTHON | SQL | SCALA | R for notebooks
    modified_at: int | None = None  # epoch milliseconds
    size: int | None = None


class Workspace(Protocol):
    def list(self, path: str) -> list[WorkspaceObject]:
        """Direct children of ``path``; [] when it does not exist."""

    def get_status(self, path: str) -> WorkspaceObject | None: ...

    def mkdirs(self, path: str) -> None: ...

    def import_(self, path: str, content: bytes, *, format: str, language: str | None, overwrite: bool) -> None:
        """format: SOURCE | JUPYTER | RAW | AUTO."""

    def export(self, path: str, *, format: str) -> bytes: ...

    def delete(self, path: str, *, recursive: bool = False) -> None: ...
