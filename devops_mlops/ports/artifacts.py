"""Artifact store port: where a deploy keeps the files jobs install or read (the project's and
the toolkit's wheels, evaluation data), named by absolute path: a Unity Catalog volume
(``/Volumes/<catalog>/<schema>/<volume>/...``) or a workspace folder (``/Workspace/...``).

Adapters: adapters/databricks/artifacts.py (the Files API and the workspace), adapters/local/
artifacts.py (a folder standing in for the workspace's storage); the in-memory fake is
testing/fakes/artifacts.py.
"""

from __future__ import annotations

from typing import Protocol


class ArtifactStore(Protocol):
    """Whole files by path. A write the identity may not make is CheckFailed (exit 1) whose hint
    names the permission to grant."""

    def size(self, path: str) -> int | None:
        """Bytes stored at ``path``; None when nothing is there (files are named by content hash,
        so "is it there, this big" is all a deploy asks before uploading)."""

    def put(self, path: str, data: bytes) -> None:
        """Store ``data`` at ``path``, replacing what was there and creating its folders."""

    def read(self, path: str) -> bytes | None:
        """The bytes stored at ``path``; None when nothing is there."""
