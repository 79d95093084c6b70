"""Git ports: the local repository, and the Git host (pull requests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass
class PullRequest:
    pull_request_id: int
    url: str
    source_branch: str
    target_branch: str
    status: str
    created: bool  # False when an open one was updated


class GitHost(Protocol):
    def open_or_update_pull_request(
        self,
        *,
        source_branch: str,
        target_branch: str,
        title: str,
        description: str,
        work_item_ids: list[int] | None = None,
    ) -> PullRequest: ...
