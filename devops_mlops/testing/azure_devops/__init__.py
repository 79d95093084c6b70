"""A loopback emulator of the Azure DevOps REST API, good enough for the real
``azure-devops`` SDK (``azure.devops.connection.Connection``) to run unchanged.

Start it, seed it, point a connection at ``emu.org_url``::

    from devops_mlops.testing.azure_devops import AzureDevOpsEmulator

    with AzureDevOpsEmulator(token="pat-123") as emu:           # organization "contoso"
        project = emu.add_project("ml")                           # + "ml Build Service (contoso)" identity
        repo = emu.add_repository("ml", "models", default_branch="main")
        conn = connect(organization_url=emu.org_url, token="pat-123")   # devops_mlops.adapters.azure.connection
        git = conn.clients_v7_1.get_git_client()
        ...
        assert emu.pull_requests[0]["workItemRefs" ...]

What it serves (each area advertised in ``OPTIONS <org>/_apis`` with the same
location ids, route templates and versions the service uses):

* Location: ``ResourceAreas``, ``ConnectionData``; core ``projects``; IMS ``Identities``.
* git: repositories, refs (get / update), pushes (create / get), pull requests
  (create / list / get / update; project-level list and get-by-id; work item refs); pull-request
  review (:mod:`.pr_review`): threads (list / create / update), comments (update), iterations,
  iteration changes, item content.
* wit: work items (create ``$Type`` with JSON Patch, get, batch get, update), WIQL, comments.
* build: definitions (list / get / create / update). pipelines (:mod:`.preview`): list / get, run preview.
* distributedtask: environments, variable groups; pipelines checks configurations.
* policy: configurations, types.  Security: namespaces, ACLs, ACEs, permissions.

State and assertion helpers: ``projects``, ``repositories``, ``refs``, ``pushes``,
``pull_requests``, ``threads``, ``iterations``, ``work_items``, ``comments``, ``definitions``, ``environments``,
``checks``, ``variable_groups``, ``policies``, ``acls``, ``previews``; ``requests``,
``requests_by_path(regex, method)``, ``writes()`` from :mod:`devops_mlops.testing.http`.

Failure modes: ``token=`` (401 without it, Basic with any user + PAT or Bearer),
``faults=Faults(...)`` (429/500/503/reset/slow/lost), ``deny(path_regex, method=...)``
(403 TF400813 for a token without that right), ``protect_branch(repo, branch)``
(TF402455 on direct pushes), ``deny_contribute(repo)`` (TF401027), unknown
project (404 TF200016), duplicate active pull request (409 TF401179).
"""

from __future__ import annotations

from .base import AzureDevOpsBase, Location
from .git import GitArea
from .pipelines import PipelinesArea
from .pr_review import PullRequestReviewArea
from .preview import PipelinePreviewArea
from .wit import WitArea

__all__ = ["GIT_BITS", "GIT_NAMESPACE", "AzureDevOpsEmulator", "Location"]

from .pipelines import GIT_BITS, GIT_NAMESPACE


class AzureDevOpsEmulator(PullRequestReviewArea, GitArea, WitArea, PipelinePreviewArea, PipelinesArea, AzureDevOpsBase):
    """The whole emulator. ``organization`` names the path segment after the host."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._install_git()
        self._install_pr_review()
        self._install_wit()
        self._install_pipelines()
        self._install_preview()

    def start(self) -> AzureDevOpsEmulator:
        super().start()
        return self
