"""An in-memory Git host (:class:`devops_mlops.ports.git.GitHost`): pull requests of one repository,
kept as plain dicts, for tests of the commit use case.

As Azure Repos does: a pull request needs its source and target branches to exist
(:meth:`FakeGitHost.make_branch` is what a push of the branch does); there is at most one active
pull request per source and target, which a second call updates (title, description, new work
items linked). Assertion helpers: ``pull_requests``, :meth:`FakeGitHost.pull_request`,
:meth:`FakeGitHost.active`.
"""

from __future__ import annotations

import itertools
from typing import Any

from ...errors import ServiceError
from ...ports.git import PullRequest

#: Azure DevOps refuses longer pull request descriptions; the adapter clips, so does the fake
MAX_DESCRIPTION = 4000


def _ref(branch: str) -> str:
    return branch if branch.startswith("refs/") else f"refs/heads/{branch}"


class FakeGitHost:
    def __init__(self, *, web_url: str = "https://dev.azure.com/contoso/ml/_git/models", default_branch: str = "main") -> None:
        self.web_url = web_url
        self.branches: set[str] = {_ref(default_branch)}
        self.work_items: set[int] = set()
        #: {"id", "source", "target", "title", "description", "status", "work_items": [int]}
        self.pull_requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._work_item_ids = itertools.count(100)

    # ------------------------------------------------------------ setting the scene
    def make_branch(self, name: str) -> None:
        self.branches.add(_ref(name))

    def new_work_item(self) -> int:
        wid = next(self._work_item_ids)
        self.work_items.add(wid)
        return wid

    def pull_request(self, pull_request_id: int) -> dict[str, Any]:
        """Assertion helper: the stored pull request (KeyError when there is none)."""
        for pr in self.pull_requests:
            if pr["id"] == pull_request_id:
                return pr
        raise KeyError(pull_request_id)

    def active(self) -> list[dict[str, Any]]:
        """Assertion helper: the active pull requests."""
        return [pr for pr in self.pull_requests if pr["status"] == "active"]

    # ------------------------------------------------------------ the port
    def open_or_update_pull_request(self, *, source_branch: str, target_branch: str, title: str, description: str,
                                    work_item_ids: list[int] | None = None) -> PullRequest:
        source, target = _ref(source_branch), _ref(target_branch)
        unknown = [w for w in work_item_ids or [] if int(w) not in self.work_items]
        if unknown:
            raise ServiceError(f"cannot link work item {unknown[0]}: it does not exist")
        text = description if len(description) <= MAX_DESCRIPTION else description[: MAX_DESCRIPTION - 20].rstrip() + "\n\n…(truncated)"
        for pr in self.active():
            if pr["source"] == source and pr["target"] == target:
                pr.update(title=title, description=text)
                pr["work_items"] += [int(w) for w in work_item_ids or [] if int(w) not in pr["work_items"]]
                return self._port(pr, created=False)
        if source not in self.branches or target not in self.branches:
            raise ServiceError(f"cannot open a pull request from {source_branch} to {target_branch}: TF401398: the "
                               "source and/or the target branch does not exist")
        pr = {"id": next(self._ids), "source": source, "target": target, "title": title, "description": text,
              "status": "active", "work_items": [int(w) for w in work_item_ids or []]}
        self.pull_requests.append(pr)
        return self._port(pr, created=True)

    def _port(self, pr: dict[str, Any], *, created: bool) -> PullRequest:
        return PullRequest(pull_request_id=pr["id"], url=f"{self.web_url}/pullrequest/{pr['id']}",
                           source_branch=pr["source"], target_branch=pr["target"], status=pr["status"], created=created)
