"""The artifact store port on this machine: a folder standing in for the workspace's storage.

A store path such as ``/Volumes/main/ml/artifacts/<hash>/pkg.whl`` or ``/Workspace/Shared/x``
is kept under the root (``.mlops/artifact-store/`` of the project) at the same relative path.
Writes go through a temporary file and one rename, so a reader sees the old file or the new one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...errors import InputError


class LocalArtifactStore:
    """Files under one root folder (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _file(self, path: str) -> Path:
        parts = [p for p in path.split("/") if p]
        if not path.startswith("/") or not parts or any(p in (".", "..") for p in parts):
            raise InputError(f"artifact path {path!r}: an absolute path without '.' or '..' parts")
        return self.root.joinpath(*parts)

    def size(self, path: str) -> int | None:
        file = self._file(path)
        return file.stat().st_size if file.is_file() else None

    def put(self, path: str, data: bytes) -> None:
        file = self._file(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, file)

    def read(self, path: str) -> bytes | None:
        file = self._file(path)
        return file.read_bytes() if file.is_file() else None


def from_context(ctx: Any) -> LocalArtifactStore:
    return LocalArtifactStore(ctx.state_dir / "artifact-store")
