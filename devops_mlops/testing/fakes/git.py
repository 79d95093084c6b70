"""An in-memory local repository (:class:`devops_mlops.ports.git.Repository`) and its remote.

:class:`FakeRepository` keeps commits (files as bytes, message, author, parents), branches, HEAD
(a branch or a detached commit) and a working tree in dicts; :class:`FakeRemote` is the
repository it fetches from and pushes to, with the rejections a hosted one answers (a protected
branch, a missing permission). Both behave as tests/contract/test_repository_contract.py says every
adapter must, and offer helpers to set a scene and read the outcome::

    remote = FakeRemote()
    remote.advance("main", {"notebooks/train.py": b"..."}, "start")   # what the remote holds
    repo = FakeRepository.clone(remote, tmp_path)                     # main checked out
    ... the use case runs with ctx.git = repo ...
    repo.committed_files("main"), repo.messages(), remote.files_of("main"), remote.pushes
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ...errors import ConflictError, InputError, ServiceError, UsageError
from ...ports.git import PushResult

PERSON = ("Dev", "dev@example.com")


@dataclass(frozen=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    files: dict[str, bytes]
    message: str
    author: tuple[str, str]  # (name, email)
    #: order of creation (a later commit is newer)
    seq: int


class _Store:
    """Commits by sha, and the branches naming them."""

    def __init__(self) -> None:
        self.commits: dict[str, Commit] = {}
        self.branches: dict[str, str] = {}

    def make(self, files: dict[str, bytes], message: str, author: tuple[str, str], parents: tuple[str, ...]) -> str:
        seq = len(self.commits)
        digest = hashlib.sha1(repr((sorted(files.items()), message, author, parents, seq)).encode())
        sha = digest.hexdigest()
        self.commits[sha] = Commit(sha, parents, dict(files), message, author, seq)
        return sha

    def files(self, sha: str | None) -> dict[str, bytes]:
        return dict(self.commits[sha].files) if sha else {}

    def ancestors(self, sha: str | None) -> list[Commit]:
        """``sha`` and every commit it descends from, newest first."""
        seen: dict[str, Commit] = {}
        todo = [sha] if sha else []
        while todo:
            current = todo.pop()
            if current not in seen:
                seen[current] = self.commits[current]
                todo.extend(seen[current].parents)
        return sorted(seen.values(), key=lambda c: c.seq, reverse=True)

    def copy_from(self, other: _Store, sha: str) -> None:
        for commit in other.ancestors(sha):
            self.commits.setdefault(commit.sha, commit)


class FakeRemote(_Store):
    """The remote repository: branches, pushes received, and rejections by branch."""

    def __init__(self, url: str = "https://dev.azure.com/org/project/_git/repo") -> None:
        super().__init__()
        self.url = url
        #: branch -> (kind, message) a push to it is refused with
        self.rejections: dict[str, tuple[str, str]] = {}
        #: (branch, commit) of every accepted push
        self.pushes: list[tuple[str, str]] = []

    def reject(self, branch: str, kind: str, message: str = "") -> None:
        """Refuse pushes to ``branch`` as the host would: ``protected``, ``permission`` or ``auth``."""
        self.rejections[branch] = (kind, message or f"{kind}: refused by the fake remote")

    def advance(self, branch: str, files: dict[str, bytes], message: str, author: tuple[str, str] = PERSON) -> str:
        """Someone else pushes a commit of ``files`` (over the branch's files) to ``branch``."""
        tip = self.branches.get(branch)
        new = {**self.files(tip), **files}
        self.branches[branch] = self.make(new, message, author, (tip,) if tip else ())
        return self.branches[branch]

    def files_of(self, branch: str) -> dict[str, bytes]:
        """The files at the tip of ``branch`` (empty when it does not exist)."""
        return self.files(self.branches.get(branch))


class FakeRepository(_Store):
    """The local repository of the folder ``path`` (see the module docstring)."""

    def __init__(self, path: str | Path = "/fake/repo", *, repository: bool = True, remote: FakeRemote | None = None,
                 bot_name: str = "mlops-bot", bot_email: str = "mlops-bot@users.noreply.dev.azure.com",
                 user_email: str = PERSON[1], shallow: bool = False, branch: str = "main") -> None:
        super().__init__()
        self.path = Path(path)
        self.remote = remote
        self.bot_name, self.bot_email, self.email, self.shallow = bot_name, bot_email, user_email, shallow
        self._exists = repository
        #: the checked-out branch (None: detached at ``_detached``)
        self._branch: str | None = branch
        self._detached: str | None = None
        #: the working tree: path relative to the root -> bytes
        self.worktree: dict[str, bytes] = {}
        #: remote branch -> tip, as the last fetch saw it
        self.fetched: dict[str, str] = {}

    @classmethod
    def clone(cls, remote: FakeRemote, path: str | Path, *, branch: str = "main", **kw) -> FakeRepository:
        """A clone of ``remote`` at ``path`` with ``branch`` checked out."""
        repo = cls(path, remote=remote, branch=branch, **kw)
        tip = repo.fetch(branch)
        if tip is not None:
            repo.branches[branch] = tip
            repo.worktree = repo.files(tip)
        return repo

    # ------------------------------------------------------------ any folder
    def is_repository(self) -> bool:
        return self._exists

    def init(self) -> None:
        self._exists = True

    def tracked_files(self, folder: Path) -> frozenset[str] | None:
        if not self._exists:
            return None
        try:
            prefix = Path(os.path.normpath(folder)).relative_to(self.root).as_posix()
        except ValueError:
            return None
        under = "" if prefix == "." else prefix + "/"
        return frozenset(rel[len(under):] for rel in self.files(self.head()) if rel.startswith(under))

    def user_email(self) -> str:
        return self.email

    # ------------------------------------------------------------ queries
    @property
    def root(self) -> Path:
        self._need()
        return Path(os.path.normpath(self.path))

    def head(self) -> str | None:
        self._need()
        return self._detached if self._branch is None else self.branches.get(self._branch)

    def branch(self) -> str | None:
        self._need()
        return self._branch

    def is_shallow(self) -> bool:
        self._need()
        return self.shallow

    def remote_url(self) -> str | None:
        self._need()
        return self.remote.url if self.remote is not None else None

    def relpath(self, path: str | Path) -> str:
        p = Path(path)
        p = Path(os.path.normpath(p if p.is_absolute() else Path.cwd() / p))
        try:
            rel = p.relative_to(self.root)
        except ValueError:
            raise InputError(f"outside the git working tree {self.root}", path=path) from None
        if not rel.parts or rel.parts[0] == ".git":
            raise InputError("not a file in the working tree", path=path)
        return rel.as_posix()

    def message_of(self, commit: str) -> str:
        return self._commit(commit).message

    def recent_messages(self, count: int) -> list[str]:
        return [c.message for c in self.ancestors(self.head())[:count]]

    def changed(self, contents: dict[str, bytes]) -> list[str]:
        at_head = self.files(self.head())
        return sorted(rel for rel, data in contents.items() if at_head.get(rel) != data)

    def source_commit(self, skip_marker: str = "") -> str | None:
        sha = self.head()
        for _ in range(50):
            if sha is None:
                return None
            commit = self.commits[sha]
            ours = commit.author[1] == self.bot_email and (not skip_marker or skip_marker in commit.message)
            if not ours or not commit.parents:
                return sha
            sha = commit.parents[0]
        return sha

    def branch_tip(self, branch: str) -> str | None:
        self._need()
        return self.branches.get(branch)

    def same_change(self, a: str, b: str) -> bool:
        ca, cb = self._commit(a), self._commit(b)
        return ca.files == cb.files and ca.parents[:1] == cb.parents[:1]

    # ------------------------------------------------------------ commits
    def commit_paths(self, rels: list[str], message: str) -> str | None:
        head = self.head()
        files = self.files(head)
        for rel in rels:
            if rel in self.worktree:
                files[rel] = self.worktree[rel]
            elif rel in files:
                del files[rel]
            else:
                raise ServiceError(f"git add failed: fatal: pathspec '{rel}' did not match any files")
        if head is not None and files == self.files(head):
            return None
        sha = self.make(files, message, (self.bot_name, self.bot_email), (head,) if head else ())
        self._move_head(sha)
        return sha

    def commit_contents(self, contents: dict[str, bytes], message: str, parent: str | None) -> str | None:
        self._need()
        files = {**self.files(parent), **contents}
        if parent is not None and files == self.files(parent):
            return None
        return self.make(files, message, (self.bot_name, self.bot_email), (parent,) if parent else ())

    def set_branch(self, branch: str, commit: str, old: str | None = None) -> None:
        self._need()
        if self.branches.get(branch) != old:
            raise ServiceError(f"git update-ref failed: cannot lock ref 'refs/heads/{branch}': it moved")
        self.branches[branch] = commit

    def rebase_paths(self, commit: str, onto: str, rels: list[str], *, overwrite: bool = False) -> str:
        mine = self._commit(commit)
        theirs = self.files(onto)
        if mine.parents and not overwrite:
            base = self.files(mine.parents[0])
            both = [rel for rel in sorted(rels) if base.get(rel) != theirs.get(rel)]
            if both:
                raise ConflictError("the remote branch also changed " + ", ".join(both),
                                    hint="merge by hand: git fetch, git rebase, then push")
        files = dict(theirs)
        for rel in rels:
            if rel in mine.files:
                files[rel] = mine.files[rel]
            else:
                files.pop(rel, None)
        if files == theirs:
            return onto
        return self.make(files, mine.message, mine.author, (onto,))

    def advance_head(self, old: str, new: str) -> bool:
        if self.head() != old:
            raise ServiceError("git update-ref failed: HEAD moved")
        before, after = self.files(old), self.files(new)
        moving = {rel for rel in set(before) | set(after) if before.get(rel) != after.get(rel)}
        if any(self.worktree.get(rel) != before.get(rel) for rel in moving):
            return False  # a local change is in the way
        for rel in moving:
            if rel in after:
                self.worktree[rel] = after[rel]
            else:
                self.worktree.pop(rel, None)
        self._move_head(new)
        return True

    # ------------------------------------------------------------ network
    def fetch(self, branch: str) -> str | None:
        self._need()
        if self.remote is None:
            raise ServiceError("git fetch failed: 'origin' does not appear to be a git repository")
        tip = self.remote.branches.get(branch)
        if tip is None:
            return None
        self.copy_from(self.remote, tip)
        self.fetched[branch] = tip
        return tip

    def push(self, rev: str, branch: str) -> PushResult:
        self._need()
        ref = f"refs/heads/{branch}"
        if self.remote is None:
            return PushResult(False, "error", "origin", ref, "'origin' does not appear to be a git repository")
        if branch in self.remote.rejections:
            kind, message = self.remote.rejections[branch]
            return PushResult(False, kind, "origin", ref, message)
        tip = self.remote.branches.get(branch)
        if tip == rev:
            return PushResult(True, "up-to-date", "origin", ref, "[up to date]")
        if tip is not None and tip not in {c.sha for c in self.ancestors(rev)}:
            return PushResult(False, "non-fast-forward", "origin", ref, f"! {rev}:{ref} [rejected] (fetch first)")
        self.remote.copy_from(self, rev)
        self.remote.branches[branch] = rev
        self.remote.pushes.append((branch, rev))
        return PushResult(True, "ok", "origin", ref, f"{rev}:{ref}")

    # ------------------------------------------------------------ helpers for tests
    def write(self, rel: str, data: bytes | str) -> Path:
        """Put a file in the working tree (as an editor would); its path."""
        self.worktree[rel] = data.encode() if isinstance(data, str) else data
        return self.root / PurePosixPath(rel)

    def commit(self, files: dict[str, bytes | str], message: str, *, author: tuple[str, str] = PERSON) -> str:
        """A person's commit of ``files`` on HEAD (written to the working tree too); its sha."""
        for rel, data in files.items():
            self.write(rel, data)
        head = self.head()
        new = {**self.files(head), **{rel: self.worktree[rel] for rel in files}}
        sha = self.make(new, message, author, (head,) if head else ())
        self._move_head(sha)
        return sha

    def checkout_detached(self, commit: str) -> None:
        """Detach HEAD at ``commit`` (a pipeline agent's checkout)."""
        self._branch, self._detached = None, commit
        self.worktree = self.files(commit)

    def committed_files(self, branch: str | None = None) -> dict[str, bytes]:
        """The files at the tip of ``branch`` (HEAD when None)."""
        return self.files(self.head() if branch is None else self.branches.get(branch))

    def messages(self, branch: str | None = None) -> list[str]:
        """The messages of the commits reachable from ``branch`` (HEAD when None), newest first."""
        return [c.message for c in self.ancestors(self.head() if branch is None else self.branches.get(branch))]

    # ------------------------------------------------------------ internals
    def _need(self) -> None:
        if not self._exists:
            raise UsageError(f"{self.path} is not inside a git repository", hint="run `git init` or clone the repository")

    def _commit(self, sha: str) -> Commit:
        self._need()
        if sha not in self.commits:
            raise ServiceError(f"git log failed: fatal: bad object {sha}")
        return self.commits[sha]

    def _move_head(self, sha: str) -> None:
        if self._branch is None:
            self._detached = sha
        else:
            self.branches[self._branch] = sha
