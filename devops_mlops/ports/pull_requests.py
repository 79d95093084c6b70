"""Pull-request threads port: what the feedback of `mlops lint|test|deploy --dry-run` reads from and
writes to the pull request a build runs for (its last iteration, the files it changes, a file at
the base commit, the comment threads).

An adapter is bound to one pull request. Errors are :class:`devops_mlops.errors.MlopsError`;
``code`` ``"403"`` or ``"TF401027"`` says the build identity may not comment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..core.pr_feedback import Thread


@dataclass(frozen=True)
class Iteration:
    """One push to the pull request: ``head_commit`` was pushed, ``base_commit`` is what its
    changes are compared with (the merge base with the target branch)."""

    id: int
    base_commit: str
    head_commit: str


class PullRequestThreads(Protocol):
    def last_iteration(self) -> Iteration | None:
        """The newest iteration (None for a pull request without one)."""
        ...

    def changed_files(self, iteration_id: int) -> dict[str, str]:
        """Repository path ("/a/b.py") -> change type ("add", "edit", "delete", "rename, edit", ...)."""
        ...

    def file_text(self, path: str, commit: str) -> str | None:
        """The file at ``commit``; None when it is not there."""
        ...

    def threads(self) -> list[Thread]:
        """Every comment thread, with the key our feedback gave it (None for a person's)."""
        ...

    def create(self, key: str, content: str, status: str, path: str | None = None, line: int | None = None) -> int:
        """A thread with one comment, anchored on ``line`` of ``path`` when both are given; its id."""
        ...

    def set_status(self, thread_id: int, status: str) -> None: ...

    def set_content(self, thread_id: int, comment_id: int, content: str) -> None: ...
