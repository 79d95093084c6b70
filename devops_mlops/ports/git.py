"""Git ports: the local repository the project is in, and the Git host (pull requests).

:class:`Repository` is everything the use cases ask of the local checkout: what HEAD is, which
files it holds, the messages of recent commits, and the automation's own commits, pushes and
rebases. Adapters: adapters/local/git.py (``LocalGit``, real git); the in-memory fake is
testing/fakes/git.py; tests/contract/test_repository_contract.py holds both to this contract.

A repository is opened for a folder that may not be in a repository yet: :meth:`Repository.is_repository`
and :meth:`Repository.tracked_files` answer for any folder, :meth:`Repository.init` makes one, and
the other methods raise UsageError (exit 2) when the folder is not in a repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
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


@dataclass
class PushResult:
    """How a push went: ``ok`` tells success; ``kind`` the case (ok, up-to-date, non-fast-forward,
    protected, permission, auth, error); ``detail`` the lines of git's answer a person needs."""

    ok: bool
    kind: str
    remote: str
    ref: str
    detail: str = ""


class Repository(Protocol):
    """The local git repository containing a folder."""

    # ------------------------------------------------------------ any folder
    def is_repository(self) -> bool:
        """Whether the folder is inside a repository's working tree."""

    def init(self) -> None:
        """Make the folder a new, empty repository (it is created when missing)."""

    def tracked_files(self, folder: Path) -> frozenset[str] | None:
        """The files of the commit at HEAD under ``folder``, as POSIX paths relative to it (empty
        before the first commit); None when ``folder`` is not in a repository."""

    def user_email(self) -> str:
        """git's ``user.email`` as the folder sees it (its repository's, else the global one); "" when unset."""

    # ------------------------------------------------------------ queries
    @property
    def root(self) -> Path:
        """The working tree's top folder (resolved)."""

    def head(self) -> str | None:
        """The commit HEAD names; None before the first commit."""

    def branch(self) -> str | None:
        """The checked-out branch; None on a detached HEAD."""

    def is_shallow(self) -> bool: ...

    def remote_url(self) -> str | None:
        """The push URL of the configured remote; None when there is no such remote."""

    def relpath(self, path: str | Path) -> str:
        """``path`` relative to the working tree (POSIX); InputError when outside or inside ``.git``."""

    def message_of(self, commit: str) -> str:
        """The full message of ``commit``; ServiceError when there is no such commit."""

    def recent_messages(self, count: int) -> list[str]:
        """The messages of the last ``count`` commits reachable from HEAD, newest first (none before
        the first commit)."""

    def changed(self, contents: dict[str, bytes]) -> list[str]:
        """The paths of ``contents`` (path -> bytes) whose bytes differ from HEAD's, sorted."""

    def source_commit(self, skip_marker: str = "") -> str | None:
        """HEAD, or its first ancestor that is not an automation commit (authored by the bot and,
        when ``skip_marker`` is given, carrying it in its message)."""

    def branch_tip(self, branch: str) -> str | None:
        """The commit of the local branch; None when it does not exist."""

    def same_change(self, a: str, b: str) -> bool:
        """Whether two commits have the same files and the same first parent."""

    # ------------------------------------------------------------ commits
    def commit_paths(self, rels: list[str], message: str) -> str | None:
        """Commit the working-tree content of ``rels`` (and nothing else) on HEAD, as the bot, and
        move HEAD to it; the rest of the working tree and the index stay as they were. None when
        those paths already match HEAD."""

    def commit_contents(self, contents: dict[str, bytes], message: str, parent: str | None) -> str | None:
        """A commit of ``parent``'s files with ``contents`` in place, moving nothing (no HEAD, branch,
        index or working-tree change); None when the files are the parent's."""

    def set_branch(self, branch: str, commit: str, old: str | None = None) -> None:
        """Point the local ``branch`` at ``commit`` (created when ``old`` is None; refused when it moved)."""

    def rebase_paths(self, commit: str, onto: str, rels: list[str], *, overwrite: bool = False) -> str:
        """``commit`` re-applied on ``onto`` (``onto``'s files with ``rels`` as in ``commit``); ``onto``
        itself when that changes nothing. ConflictError when ``onto`` changed any of ``rels`` since
        ``commit``'s parent, unless ``overwrite``."""

    def advance_head(self, old: str, new: str) -> bool:
        """Move HEAD from ``old`` to ``new`` carrying local changes, as a fast-forward checkout; False
        (nothing changed) when a local change is in the way."""

    # ------------------------------------------------------------ network
    def fetch(self, branch: str) -> str | None:
        """Fetch ``branch`` from the remote: its tip, or None when the remote has no such branch."""

    def push(self, rev: str, branch: str) -> PushResult:
        """Push ``rev`` to the remote's ``branch`` (never forced)."""
