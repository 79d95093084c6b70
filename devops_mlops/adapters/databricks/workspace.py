"""Workspace port over the Databricks workspace API (and Git folders), through ``databricks-sdk``.

Beyond the port: ``find_repo`` / ``create_repo`` / ``update_repo`` / ``get_repo`` for Git
folder mode (``GitFolder`` results).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from ...errors import ConflictError, ServiceError
from ...ports.workspace import WorkspaceObject
from .client import call, client_for, is_not_found, translate


@dataclass
class GitFolder:
    id: int
    path: str
    url: str | None = None
    provider: str | None = None
    branch: str | None = None
    head_commit_id: str | None = None


def _enum(value: Any) -> str | None:
    if value is None:
        return None
    return getattr(value, "value", value)


def _obj(info: Any) -> WorkspaceObject:
    return WorkspaceObject(
        path=info.path,
        object_type=_enum(info.object_type) or "FILE",
        language=_enum(info.language),
        modified_at=info.modified_at,
        size=info.size,
    )


def _repo(info: Any) -> GitFolder:
    return GitFolder(int(info.id), info.path, info.url, info.provider, info.branch, info.head_commit_id)


class DatabricksWorkspace:
    def __init__(self, client: Any):
        self.w = client

    # ------------------------------------------------------------ port
    def list(self, path: str) -> list[WorkspaceObject]:
        def go():
            try:
                return [_obj(o) for o in self.w.workspace.list(path)]
            except Exception as exc:
                if is_not_found(exc):
                    return []
                raise

        return call(go, f"list {path}")

    def get_status(self, path: str) -> WorkspaceObject | None:
        def go():
            try:
                return _obj(self.w.workspace.get_status(path))
            except Exception as exc:
                if is_not_found(exc):
                    return None
                raise

        return call(go, f"get-status {path}")

    def mkdirs(self, path: str) -> None:
        call(lambda: self.w.workspace.mkdirs(path), f"mkdirs {path}")

    def import_(self, path: str, content: bytes, *, format: str, language: str | None, overwrite: bool) -> None:
        from databricks.sdk.service.workspace import ImportFormat, Language

        kwargs: dict[str, Any] = {"format": ImportFormat(format.upper()), "overwrite": overwrite,
                                  "content": base64.b64encode(content).decode()}
        if language:
            kwargs["language"] = Language(language.upper())
        # an import with overwrite is idempotent: safe to retry after a lost answer
        call(lambda: self.w.workspace.import_(path, **kwargs), f"import {path}", retry=overwrite)

    def export(self, path: str, *, format: str) -> bytes:
        from databricks.sdk.service.workspace import ExportFormat

        resp = call(lambda: self.w.workspace.export(path, format=ExportFormat(format.upper())), f"export {path}")
        return base64.b64decode(resp.content or "")

    def delete(self, path: str, *, recursive: bool = False) -> None:
        def go():
            try:
                self.w.workspace.delete(path, recursive=recursive)
            except Exception as exc:
                if is_not_found(exc):  # already gone (or our earlier answer was lost)
                    return
                raise

        call(go, f"delete {path}")

    # ------------------------------------------------------------ Git folders
    def find_repo(self, path: str) -> GitFolder | None:
        def go():
            for info in self.w.repos.list(path_prefix=path):
                if info.path and info.path.rstrip("/") == path.rstrip("/"):
                    return _repo(info)
            return None

        return call(go, f"find Git folder {path}")

    def get_repo(self, repo_id: int) -> GitFolder:
        return call(lambda: _repo(self.w.repos.get(repo_id)), f"get Git folder {repo_id}")

    def create_repo(self, url: str, provider: str, path: str) -> GitFolder:
        try:
            info = self.w.repos.create(url, provider, path=path)
            return _repo(info)
        except Exception as exc:
            err = translate(exc, f"create Git folder {path}")
            if isinstance(err, ConflictError) or _is_transient_err(exc):
                found = self.find_repo(path)  # our create may have landed; its answer was lost
                if found is not None:
                    return found
            raise _git_error(err, path) from None

    def update_repo(self, repo_id: int, *, branch: str | None = None, tag: str | None = None, path: str = "") -> None:
        try:
            call(lambda: self.w.repos.update(repo_id, branch=branch, tag=tag), f"update Git folder {path or repo_id}")
        except ServiceError as err:
            raise _git_error(err, path) from None


def _is_transient_err(exc: BaseException) -> bool:
    from .client import is_transient

    return is_transient(exc)


def _git_error(err: Any, path: str) -> Any:
    text = err.message.lower()
    if "git provider credentials" in text or "git credential" in text:
        return ServiceError(
            f"the Git folder {path} cannot reach the repository: the identity running mlops has no Git credential",
            hint="add one for azureDevOpsServices (User settings > Linked accounts, or POST /api/2.0/git-credentials "
                 "for a service principal) with a PAT or Entra ID that can read the repository",
        )
    if "local changes" in text or "uncommitted" in text or "would be overwritten" in text:
        return ServiceError(
            f"the Git folder {path} has uncommitted changes (edited in the workspace), so it cannot be updated",
            hint="commit or discard them in the Git folder UI, or delete the Git folder and run `mlops sync` again",
        )
    if "does not exist in the remote" in text:
        return ServiceError(err.message, hint="push the branch or tag first, or fix branch/tag in mlops.yaml")
    return err


def from_context(ctx: Any) -> DatabricksWorkspace:
    return DatabricksWorkspace(client_for(ctx))
