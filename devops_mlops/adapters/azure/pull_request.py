"""The pull-request threads port (:mod:`devops_mlops.ports.pull_requests`) over one Azure Repos pull
request, through the ``azure-devops`` SDK's GitClient: its last iteration and changed files, file
content at a commit, and its comment threads (list, create, update, close).

Every call is wrapped in :func:`.errors.translated`, so the caller sees ``ServiceError`` with
``code`` ``"403"`` / ``"TF401027"`` when the build identity may not comment.
"""

from __future__ import annotations

import os
from typing import Any

from ...core.pr_feedback import PROPERTY, Thread, key_of
from ...ports.pull_requests import Iteration
from .connection import AzureDevOps, resolve, send
from .errors import translated


class PullRequest:
    def __init__(self, ado: AzureDevOps, repository_id: str, pull_request_id: int) -> None:
        self.ado = ado
        self.repository_id = repository_id
        self.id = pull_request_id
        self._git = None

    @property
    def git(self):
        if self._git is None:
            self._git = self.ado.git()
        return self._git

    @property
    def project(self) -> str | None:
        return self.ado.target.project

    def _call(self, action: str, fn, *args, **kwargs) -> Any:
        with translated(f"{action} on pull request {self.id}", self.ado.target):
            return fn(*args, **kwargs)

    # ------------------------------------------------------------------ what changed
    def last_iteration(self) -> Iteration | None:
        its = self._call("read the iterations", self.git.get_pull_request_iterations, self.repository_id, self.id,
                         project=self.project)
        if not its:
            return None
        last = max(its, key=lambda i: i.id)
        return Iteration(last.id, (last.common_ref_commit or last.target_ref_commit).commit_id,
                         last.source_ref_commit.commit_id)

    def changed_files(self, iteration_id: int) -> dict[str, str]:
        """Repository path -> change type ("add", "edit", "delete", "rename, edit", ...), every page.

        The SDK's ``get_pull_request_iteration_changes`` deserializes each entry into a model that keeps
        only ``changeTrackingId``; the same call is made through :func:`connection.send` (``Client._send`` (same location
        id, auth and retries) and the documented JSON read as it is."""
        out: dict[str, str] = {}
        skip = 0
        route = {"repositoryId": self.repository_id, "pullRequestId": self.id, "iterationId": iteration_id}
        if self.project:
            route["project"] = self.project
        while True:
            response = self._call("read the changes", send, self.git, http_method="GET",
                                  location_id="4216bdcf-b6b1-4d59-8b82-c34cc183fc8b", version="7.1-preview.1",
                                  route_values=route, query_parameters={"$top": 2000, "$skip": skip})
            page = response.json()
            for entry in page.get("changeEntries") or []:
                path = (entry.get("item") or {}).get("path")
                if path:
                    out[path] = str(entry.get("changeType") or "edit")
            if not page.get("nextSkip"):
                return out
            skip = page["nextSkip"]

    def file_text(self, path: str, commit: str) -> str | None:
        """The file at ``commit`` (None when it is not there)."""
        from azure.devops.v7_1.git.models import GitVersionDescriptor

        from ...errors import ServiceError

        version = GitVersionDescriptor(version=commit, version_type="commit")
        try:
            chunks = self._call(f"read {path}", self.git.get_item_content, self.repository_id, path,
                                project=self.project, version_descriptor=version)
            return b"".join(chunks).decode("utf-8", "replace")
        except ServiceError as exc:
            if getattr(exc, "code", None) in ("404", "TF401174") or "TF401174" in exc.message:
                return None
            raise

    # ------------------------------------------------------------------ threads
    def threads(self) -> list[Thread]:
        raw = self._call("read the comment threads", self.git.get_threads, self.repository_id, self.id,
                         project=self.project)
        out = []
        for t in raw or []:
            first = (t.comments or [None])[0]
            content = (first.content or "") if first is not None else ""
            out.append(Thread(t.id, t.status, key_of(t.properties, content), first.id if first else None, content))
        return out

    def create(self, key: str, content: str, status: str, path: str | None = None, line: int | None = None) -> int:
        from azure.devops.v7_1.git.models import (
            Comment,
            CommentPosition,
            CommentThreadContext,
            GitPullRequestCommentThread,
        )

        context = None
        if path is not None and line is not None:
            context = CommentThreadContext(file_path=path, right_file_start=CommentPosition(line=line, offset=1),
                                           right_file_end=CommentPosition(line=line, offset=1))
        thread = GitPullRequestCommentThread(
            comments=[Comment(content=content, comment_type="text", parent_comment_id=0)], status=status,
            thread_context=context,
            properties={PROPERTY: {"$type": "System.String", "$value": key},
                        "Microsoft.TeamFoundation.Discussion.SupportsMarkdown": {"$type": "System.Int32", "$value": 1}})
        made = self._call("create a comment thread", self.git.create_thread, thread, self.repository_id, self.id,
                          project=self.project)
        return made.id

    def set_status(self, thread_id: int, status: str) -> None:
        from azure.devops.v7_1.git.models import GitPullRequestCommentThread

        self._call("update a comment thread", self.git.update_thread, GitPullRequestCommentThread(status=status),
                   self.repository_id, self.id, thread_id, project=self.project)

    def set_content(self, thread_id: int, comment_id: int, content: str) -> None:
        from azure.devops.v7_1.git.models import Comment

        self._call("update a comment", self.git.update_comment, Comment(content=content), self.repository_id,
                   self.id, thread_id, comment_id, project=self.project)


def from_config(config: Any) -> PullRequest:
    """The pull request of this build (``SYSTEM_PULLREQUEST_PULLREQUESTID``) in the repository
    ``BUILD_REPOSITORY_ID`` (else the one of ``scm.azure_devops`` / ``BUILD_REPOSITORY_NAME``);
    ``config``: the project's config, or None (organization, project and token from the environment)."""
    target = resolve(config.scm.azure_devops if config is not None else None)
    target.require(project=True)
    ado = AzureDevOps(target)
    repo_id = os.environ.get("BUILD_REPOSITORY_ID") or ado.repository().id
    return PullRequest(ado, repo_id, int(os.environ["SYSTEM_PULLREQUEST_PULLREQUESTID"]))
