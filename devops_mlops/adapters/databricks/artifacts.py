"""Where `mlops deploy` stores wheels: a Unity Catalog volume (Files API) or a workspace folder.

Volumes go through the SDK's Files API client (``PUT/HEAD /api/2.0/fs/files/Volumes/...``);
workspace folders through the workspace port (``import`` in AUTO format makes a workspace file).
Objects are named by content hash, so "is it there" is all a deploy asks before uploading.
A write the identity may not make is a :class:`CheckFailed` (exit 1) whose hint names the
permission to grant.
"""

from __future__ import annotations

import io
import posixpath
from typing import Any

from ...core.artifacts import is_volume, workspace_api_path
from ...errors import CheckFailed, MlopsError
from .client import call, client_for, is_not_found, status_of


def _permission_hint(path: str) -> str:
    if is_volume(path):
        parts = [p for p in path.split("/") if p][1:4]
        volume = ".".join(parts)
        return (f"grant the identity running mlops WRITE VOLUME on the volume {volume} "
                f"(and USE CATALOG on {parts[0]}, USE SCHEMA on {'.'.join(parts[:2])})")
    folder = posixpath.dirname(posixpath.dirname(path))
    return f"grant the identity running mlops CAN MANAGE (or CAN EDIT) on the workspace folder {folder}"


class ArtifactStore:
    def __init__(self, client: Any, workspace: Any):
        self.w = client
        self.workspace = workspace
        self._files = None

    @property
    def files(self):
        if self._files is None:
            from databricks.sdk.service.files import FilesAPI

            self._files = FilesAPI(self.w.api_client)
        return self._files

    def size(self, path: str) -> int | None:
        """Bytes stored at ``path``; None when nothing is there."""
        if not is_volume(path):
            obj = self.workspace.get_status(workspace_api_path(path))
            return None if obj is None else int(obj.size or 0)

        def go():
            try:
                return int(self.files.get_metadata(path).content_length or 0)
            except Exception as exc:
                if is_not_found(exc) or status_of(exc) == 404:
                    return None
                raise

        return call(go, f"look up {path}")

    def put(self, path: str, data: bytes) -> None:
        try:
            if is_volume(path):
                call(lambda: self.files.upload(path, io.BytesIO(data), overwrite=True), f"upload {path}")
            else:
                api = workspace_api_path(path)
                self.workspace.mkdirs(posixpath.dirname(api))
                self.workspace.import_(api, data, format="AUTO", language=None, overwrite=True)
        except MlopsError as exc:
            if "permission denied" in exc.message.lower():
                raise CheckFailed(f"cannot write the artifact {path}: permission denied",
                                  hint=_permission_hint(path)) from None
            raise

    def read(self, path: str) -> bytes | None:
        """The file's bytes (None when nothing is there): volumes through the Files API, workspace
        files exported as they are."""
        if not is_volume(path):
            api = workspace_api_path(path)
            return None if self.workspace.get_status(api) is None else self.workspace.export(api, format="AUTO")

        def go():
            try:
                return self.files.download(path).contents.read()
            except Exception as exc:
                if is_not_found(exc) or status_of(exc) == 404:
                    return None
                raise

        return call(go, f"read {path}")


def from_context(ctx: Any) -> ArtifactStore:
    return ArtifactStore(client_for(ctx), ctx.workspace)
