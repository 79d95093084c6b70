"""The Git host port over Azure Repos: pull requests through the ``azure-devops`` SDK.

:meth:`AzureGitHost.open_or_update_pull_request` finds the active pull request
from ``source_branch`` to ``target_branch``; it updates its title and
description when there is one (linking any new work item through a WIT
``ArtifactLink``, as the web UI does), else creates it with the work items in
``workItemRefs``. A creation that loses a race (TF401179, someone opened the
same pull request in between) falls back to updating the winner; a creation
whose answer was lost (connection reset; POSTs are not retried) is looked up
instead of being created twice.

The connection (organization, project, repository, token) comes from
:mod:`devops_mlops.adapters.azure.connection`; SDK errors are translated by
:mod:`devops_mlops.adapters.azure.errors` (TF401027 names the build identity
and the permission to grant).
"""

from __future__ import annotations

from typing import Any

from ...errors import ConflictError, ServiceError
from ...ports.git import PullRequest

#: Azure DevOps refuses longer pull request descriptions
MAX_DESCRIPTION = 4000


def _ref(branch: str) -> str:
    return branch if branch.startswith("refs/") else f"refs/heads/{branch}"


def _clip(text: str) -> str:
    if len(text) <= MAX_DESCRIPTION:
        return text
    return text[: MAX_DESCRIPTION - 20].rstrip() + "\n\n…(truncated)"


class AzureGitHost:
    def __init__(self, ado) -> None:
        self.ado = ado  # connection.AzureDevOps
        self._repo = None

    @property
    def target(self):
        return self.ado.target

    def repository(self) -> Any:
        if self._repo is None:
            self._repo = self.ado.repository()
        return self._repo

    def web_url(self, pull_request_id: int) -> str:
        repo = self.repository()
        base = getattr(repo, "web_url", None) or (
            f"{self.target.organization_url}/{self.target.project}/_git/{self.target.repository}"
        )
        return f"{base}/pullrequest/{pull_request_id}"

    def find_active(self, source_branch: str, target_branch: str) -> Any | None:
        from azure.devops.v7_1.git.models import GitPullRequestSearchCriteria

        from .errors import translated

        repo = self.repository()
        criteria = GitPullRequestSearchCriteria(
            source_ref_name=_ref(source_branch), target_ref_name=_ref(target_branch), status="active"
        )
        with translated("list pull requests", self.target):
            found = self.ado.git().get_pull_requests(repo.id, criteria, project=self.target.project)
        return found[0] if found else None

    def open_or_update_pull_request(
        self,
        *,
        source_branch: str,
        target_branch: str,
        title: str,
        description: str,
        work_item_ids: list[int] | None = None,
    ) -> PullRequest:
        existing = self.find_active(source_branch, target_branch)
        if existing is None:
            try:
                return self._create(source_branch, target_branch, title, description, work_item_ids or [])
            except (ConflictError, ServiceError) as exc:
                # TF401179: someone opened it in between; "unreachable": the creation's answer was lost
                # (a POST is not retried) - either way, an active one may now exist
                if getattr(exc, "code", None) not in ("TF401179", "unreachable"):
                    raise
                existing = self.find_active(source_branch, target_branch)
                if existing is None:
                    raise
                if getattr(exc, "code", None) == "unreachable":
                    return self._port(existing, created=True)
        return self._update(existing, title, description, work_item_ids or [])

    def _create(self, source: str, target: str, title: str, description: str, work_items: list[int]) -> PullRequest:
        from azure.devops.v7_1.git.models import GitPullRequest, ResourceRef

        from .errors import translated

        repo = self.repository()
        body = GitPullRequest(
            source_ref_name=_ref(source),
            target_ref_name=_ref(target),
            title=title,
            description=_clip(description),
            work_item_refs=[ResourceRef(id=str(w)) for w in work_items] or None,
        )
        with translated(f"open a pull request from {source} to {target}", self.target):
            pr = self.ado.git().create_pull_request(body, repo.id, project=self.target.project)
        return self._port(pr, created=True)

    def _update(self, pr: Any, title: str, description: str, work_items: list[int]) -> PullRequest:
        from azure.devops.v7_1.git.models import GitPullRequest

        from .errors import translated

        repo = self.repository()
        with translated(f"update pull request {pr.pull_request_id}", self.target):
            updated = self.ado.git().update_pull_request(
                GitPullRequest(title=title, description=_clip(description)),
                repo.id,
                pr.pull_request_id,
                project=self.target.project,
            )
            if work_items:
                linked = {
                    str(r.id)
                    for r in self.ado.git().get_pull_request_work_item_refs(
                        repo.id, pr.pull_request_id, project=self.target.project
                    )
                }
                for wid in work_items:
                    if str(wid) not in linked:
                        self._link(int(wid), updated)
        return self._port(updated, created=False)

    def _link(self, work_item_id: int, pr: Any) -> None:
        from azure.devops.v7_1.work_item_tracking.models import JsonPatchOperation

        from .errors import translated

        artifact = getattr(pr, "artifact_id", None)
        if not artifact:
            repo = self.repository()
            artifact = f"vstfs:///Git/PullRequestId/{repo.project.id}%2F{repo.id}%2F{pr.pull_request_id}"
        patch = [
            JsonPatchOperation(
                op="add",
                path="/relations/-",
                value={"rel": "ArtifactLink", "url": artifact, "attributes": {"name": "Pull Request"}},
            )
        ]
        with translated(f"link work item {work_item_id} to pull request {pr.pull_request_id}", self.target):
            self.ado.wit().update_work_item(patch, work_item_id)

    def _port(self, pr: Any, *, created: bool) -> PullRequest:
        return PullRequest(
            pull_request_id=int(pr.pull_request_id),
            url=self.web_url(pr.pull_request_id),
            source_branch=pr.source_ref_name,
            target_branch=pr.target_ref_name,
            status=pr.status,
            created=created,
        )


def from_context(ctx) -> AzureGitHost:
    from .connection import from_context as connection_from_context

    return AzureGitHost(connection_from_context(ctx, need_repository=True))
