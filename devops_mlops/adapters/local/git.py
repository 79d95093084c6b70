"""The local repository port (:class:`devops_mlops.ports.git.Repository`) over git, with gitpython.

Everything here is safe on a pipeline agent's checkout (a detached HEAD in a
shallow clone) and in a developer's working tree with changes in progress:

* :meth:`LocalGit.commit_paths` builds the commit in a *temporary* index
  (``GIT_INDEX_FILE``) seeded from HEAD, so only the given paths enter it; the
  real index is then updated for those paths only and the working tree is never
  written. Unrelated changes, staged or not, stay exactly as they were.
* :meth:`LocalGit.push` authenticates with an extra header passed through the
  environment (see :mod:`.git_auth`).
* :meth:`LocalGit.commit_contents` builds a commit from bytes on top of a given parent
  without moving HEAD (the retrain loop's local branch, see ops/commit_local.py).
* :meth:`LocalGit.rebase_paths` re-applies an automation commit on a moved
  remote tip without touching the working tree (tree surgery in a temporary
  index), and refuses when the remote changed the same paths.

The repository is opened on first use, so a folder that is not one yet can be asked
:meth:`~LocalGit.is_repository` or made one (:meth:`~LocalGit.init`, ``mlops init``); those
questions, :meth:`~LocalGit.tracked_files` and :meth:`~LocalGit.user_email` run git directly
and never import gitpython.
"""

from __future__ import annotations

import functools
import getpass
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ...console import mask
from ...errors import ConflictError, InputError, ServiceError, UsageError
from ...ports.git import PushResult
from .git_auth import auth_env, classify_push, network_error, stderr_of, summary

ZERO = "0" * 40


def _run(cwd: Path | None, *args: str) -> subprocess.CompletedProcess | None:
    """``git [-C cwd] args`` (bytes out); None when git cannot be started or hangs."""
    where = ["-C", str(cwd)] if cwd is not None else []
    try:
        return subprocess.run(["git", *where, *args], capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None


def _inside_work_tree(folder: Path) -> bool:
    proc = _run(folder, "rev-parse", "--is-inside-work-tree")
    return proc is not None and proc.returncode == 0 and proc.stdout.strip() == b"true"


def _user_email(cwd: Path | None) -> str:
    proc = _run(cwd, "config", "user.email")
    return proc.stdout.decode("utf-8", "replace").strip() if proc is not None else ""


@functools.lru_cache(maxsize=1)
def local_user() -> dict:
    """The current user of the local backend (the SCIM Me shape): git's user.email, else the OS user."""
    name = _user_email(None)
    try:
        os_user = getpass.getuser()
    except (OSError, KeyError):
        os_user = os.environ.get("USER") or "user"
    return {"userName": name or os_user, "displayName": name or os_user, "id": os_user}


class LocalGit:
    """The repository containing ``path`` (opened on first use: UsageError when there is none)."""

    def __init__(self, path: str | Path, *, remote: str = "origin", bot_name: str, bot_email: str):
        self.path = Path(path)
        self.remote = remote
        self.bot_name = bot_name
        self.bot_email = bot_email

    @functools.cached_property
    def repo(self):
        """The gitpython ``Repo``; UsageError when ``path`` is not in a working tree."""
        import git

        try:
            repo = git.Repo(self.path, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise UsageError(f"{self.path} is not inside a git repository",
                             hint="run `git init` or clone the repository") from None
        if repo.bare:
            raise UsageError(f"{self.path} is a bare repository; need a working tree")
        return repo

    @functools.cached_property
    def root(self) -> Path:
        return Path(self.repo.working_tree_dir).resolve()

    # ------------------------------------------------------------ any folder
    def is_repository(self) -> bool:
        return _inside_work_tree(self.path)

    def init(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        proc = _run(None, "init", "-q", str(self.path))
        if proc is None or proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip() if proc is not None else "git did not start"
            raise ServiceError(f"git init failed: {mask(err)}", path=self.path)
        self.__dict__.pop("repo", None)
        self.__dict__.pop("root", None)

    def tracked_files(self, folder: Path) -> frozenset[str] | None:
        proc = _run(folder, "ls-tree", "-r", "-z", "--name-only", "HEAD")
        if proc is None:
            return None
        if proc.returncode != 0:
            return frozenset() if _inside_work_tree(folder) else None  # no commit yet, or no repository
        return frozenset(os.fsdecode(n) for n in proc.stdout.split(b"\0") if n)

    def user_email(self) -> str:
        return _user_email(self.path if self.path.is_dir() else None)

    # ------------------------------------------------------------ queries
    def _git(self, *args: str, env: dict[str, str] | None = None, **kw) -> str:
        import git

        try:
            return self.repo.git.execute(["git", *args], env=env, **kw)
        except git.GitCommandError as exc:
            raise ServiceError(f"git {args[0]} failed: {mask(stderr_of(exc))}") from None

    def head(self) -> str | None:
        out = self._try("rev-parse", "-q", "--verify", "HEAD^{commit}")
        return out or None

    def branch(self) -> str | None:
        """The checked-out branch; None on a detached HEAD."""
        return self._try("symbolic-ref", "-q", "--short", "HEAD") or None

    def is_shallow(self) -> bool:
        return self._git("rev-parse", "--is-shallow-repository") == "true"

    def remote_url(self) -> str | None:
        if self.remote not in [r.name for r in self.repo.remotes]:
            return None
        return self._try("remote", "get-url", "--push", self.remote) or None

    def _try(self, *args: str, env: dict[str, str] | None = None) -> str:
        import git

        try:
            return self.repo.git.execute(["git", *args], env=env)
        except git.GitCommandError:
            return ""

    def relpath(self, path: str | Path) -> str:
        """``path`` relative to the working tree (POSIX); InputError when outside."""
        p = Path(path)
        p = (p if p.is_absolute() else Path.cwd() / p).resolve()
        try:
            rel = p.relative_to(self.root)
        except ValueError:
            raise InputError(f"outside the git working tree {self.root}", path=path) from None
        if not rel.parts or rel.parts[0] == ".git":
            raise InputError("not a file in the working tree", path=path)
        return rel.as_posix()

    def blob_at(self, rev: str, rel: str) -> str | None:
        return self._try("rev-parse", "-q", "--verify", f"{rev}:{rel}") or None

    def changed(self, contents: dict[str, bytes]) -> list[str]:
        """Which of ``rel -> bytes`` differ from HEAD (filters applied as ``git add`` would)."""
        head = self.head()
        out = []
        with tempfile.TemporaryDirectory(prefix="mlops-git-") as tmp:
            for i, (rel, data) in enumerate(sorted(contents.items())):
                f = Path(tmp) / str(i)
                f.write_bytes(data)
                sha = self._git("hash-object", f"--path={rel}", str(f))
                if head is None or self.blob_at(head, rel) != sha:
                    out.append(rel)
        return out

    def source_commit(self, skip_marker: str = "") -> str | None:
        """HEAD, or the first ancestor that is not one of our automation commits."""
        sha = self.head()
        for _ in range(50):
            if sha is None:
                return None
            commit = self.repo.commit(sha)
            ours = commit.author.email == self.bot_email and (not skip_marker or skip_marker in commit.message)
            parent = self._try("rev-parse", "-q", "--verify", f"{sha}^1^{{commit}}") if ours else ""
            if not ours or not parent:
                return sha
            sha = parent
        return sha

    # ------------------------------------------------------------ commits
    def _bot_env(self, author: tuple[str, str] | None = None) -> dict[str, str]:
        name, email = author or (self.bot_name, self.bot_email)
        return {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": self.bot_name,
            "GIT_COMMITTER_EMAIL": self.bot_email,
        }

    @contextmanager
    def _temp_index(self, seed: str | None) -> Iterator[dict[str, str]]:
        with tempfile.TemporaryDirectory(prefix="mlops-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if seed:
                self._git("read-tree", seed, env=env)
            yield env

    def commit_paths(self, rels: list[str], message: str) -> str | None:
        """Commit the working-tree content of ``rels`` (and nothing else) on HEAD.

        Returns the new commit, or None when those paths already match HEAD."""
        head = self.head()
        with self._temp_index(head) as env:
            self._git("add", "--force", "--", *rels, env=env)
            tree = self._git("write-tree", env=env)
        if head is not None and tree == self._git("rev-parse", f"{head}^{{tree}}"):
            return None
        parents = ["-p", head] if head else []
        commit = self._git("commit-tree", tree, *parents, "-m", message, env=self._bot_env())
        self._git("update-ref", "-m", f"mlops commit: {message.splitlines()[0]}", "HEAD", commit, head or ZERO)
        self._sync_index(commit, rels)
        return commit

    def commit_contents(self, contents: dict[str, bytes], message: str, parent: str | None) -> str | None:
        """A commit of ``parent``'s tree with ``contents`` (path -> bytes, filters applied as ``git add``
        would) in place, built in a temporary index: HEAD, branches, the real index and the working
        tree are not touched. None when the tree is the parent's."""
        with tempfile.TemporaryDirectory(prefix="mlops-blobs-") as tmp, self._temp_index(parent) as env:
            for i, (rel, data) in enumerate(sorted(contents.items())):
                f = Path(tmp) / str(i)
                f.write_bytes(data)
                blob = self._git("hash-object", "-w", f"--path={rel}", str(f))
                entry = self._git("ls-tree", parent, "--", rel) if parent else ""
                mode = entry.split(" ", 1)[0] if entry else "100644"
                self._git("update-index", "--add", "--cacheinfo", f"{mode},{blob},{rel}", env=env)
            tree = self._git("write-tree", env=env)
        if parent is not None and tree == self._git("rev-parse", f"{parent}^{{tree}}"):
            return None
        parents = ["-p", parent] if parent else []
        return self._git("commit-tree", tree, *parents, "-m", message, env=self._bot_env())

    def branch_tip(self, branch: str) -> str | None:
        return self._try("rev-parse", "-q", "--verify", f"refs/heads/{branch}^{{commit}}") or None

    def same_change(self, a: str, b: str) -> bool:
        """Whether two commits have the same tree and the same first parent."""
        def key(rev: str) -> tuple[str, str]:
            return self._git("rev-parse", f"{rev}^{{tree}}"), self._try("rev-parse", "-q", "--verify", f"{rev}^1")

        return key(a) == key(b)

    def set_branch(self, branch: str, commit: str, old: str | None = None) -> None:
        """Point ``refs/heads/<branch>`` at ``commit`` (created when ``old`` is None; refused if it moved)."""
        self._git("update-ref", "-m", "mlops: automation commit", f"refs/heads/{branch}", commit, old or ZERO)

    def _sync_index(self, commit: str, rels: list[str]) -> None:
        """Make the real index match ``commit`` for ``rels`` only (the working tree is not touched)."""
        import git

        for attempt in range(20):
            try:
                self.repo.git.execute(["git", "reset", "-q", commit, "--", *rels])
                return
            except git.GitCommandError as exc:
                if "index.lock" not in stderr_of(exc) or attempt == 19:
                    raise ServiceError(f"git reset failed: {mask(stderr_of(exc))}") from None
                time.sleep(0.1)

    def message_of(self, commit: str) -> str:
        return self._git("log", "-1", "--format=%B", commit).rstrip("\n")

    def recent_messages(self, count: int) -> list[str]:
        if self.head() is None:
            return []
        out = self._git("log", f"-{int(count)}", "--format=%B%x00")
        return [m.strip("\n") for m in out.split("\0") if m.strip("\n")]

    def rebase_paths(self, commit: str, onto: str, rels: list[str], *, overwrite: bool = False) -> str:
        """``commit`` re-applied on ``onto``: ``onto``'s tree with ``rels`` as in ``commit``.

        Refuses (ConflictError) when ``onto`` changed any of ``rels`` since ``commit``'s
        parent, unless ``overwrite`` (a branch only the automation writes)."""
        parent = self._try("rev-parse", "-q", "--verify", f"{commit}^1")
        if parent and not overwrite:
            both = self._git("diff", "--name-only", parent, onto, "--", *rels).split()
            if both:
                raise ConflictError(
                    "the remote branch also changed " + ", ".join(both),
                    hint="merge by hand: git fetch, git rebase, then push",
                )
        with self._temp_index(onto) as env:
            for rel in rels:
                entry = self._git("ls-tree", commit, "--", rel)
                if entry:
                    mode, _type, rest = entry.split(" ", 2)
                    sha = rest.split("\t", 1)[0]
                    self._git("update-index", "--add", "--cacheinfo", f"{mode},{sha},{rel}", env=env)
                else:
                    self._git("update-index", "--force-remove", "--", rel, env=env)
            tree = self._git("write-tree", env=env)
        if tree == self._git("rev-parse", f"{onto}^{{tree}}"):
            return onto
        c = self.repo.commit(commit)
        env = self._bot_env((c.author.name, c.author.email))
        return self._git("commit-tree", tree, "-p", onto, "-m", self.message_of(commit), env=env)

    def advance_head(self, old: str, new: str) -> bool:
        """Move HEAD from ``old`` to ``new`` like a fast-forward checkout that carries local
        changes; False (nothing changed) when a local change is in the way."""
        import git

        try:
            self.repo.git.execute(["git", "read-tree", "-m", "-u", old, new])
        except git.GitCommandError:
            return False
        self._git("update-ref", "-m", "mlops commit: rebased on the remote", "HEAD", new, old)
        return True

    # ------------------------------------------------------------ network
    def fetch(self, branch: str) -> str | None:
        """Fetch ``branch`` from the remote; its tip, or None when it does not exist."""
        import git

        ref = f"refs/remotes/{self.remote}/{branch}"
        url = self.remote_url()
        try:
            self.repo.git.execute(
                ["git", "fetch", "--no-tags", "--quiet", self.remote, f"+refs/heads/{branch}:{ref}"],
                env=auth_env(url),
            )
        except git.GitCommandError as exc:
            err = stderr_of(exc)
            if "couldn't find remote ref" in err:
                return None
            kind = classify_push(err)
            raise network_error("fetch", kind, err, url) from None
        return self._git("rev-parse", ref)

    def push(self, rev: str, branch: str) -> PushResult:
        """``git push <remote> <rev>:refs/heads/<branch>`` with the token as an extra header."""
        import git

        ref = f"refs/heads/{branch}"
        url = self.remote_url()
        args = ["git", "push", "--porcelain", self.remote, f"{rev}:{ref}"]
        try:
            status, out, err = self.repo.git.execute(
                args, env=auth_env(url), with_extended_output=True, with_exceptions=False
            )
        except git.GitCommandError as exc:  # pragma: no cover - with_exceptions=False
            status, out, err = 1, "", stderr_of(exc)
        text = mask(f"{out}\n{err}")
        if status == 0:
            return PushResult(True, "up-to-date" if "[up to date]" in text else "ok", self.remote, ref, summary(text))
        return PushResult(False, classify_push(text), self.remote, ref, summary(text))


def from_context(ctx) -> LocalGit:
    """The repository of the project's folder, committing as the configured bot."""
    scm = ctx.config.scm
    return LocalGit(ctx.root, remote=scm.remote, bot_name=scm.bot.name, bot_email=scm.bot.email)


def at_folder(folder: Path) -> LocalGit:
    """The repository of a folder that has no project yet (``mlops init``), with the default bot."""
    from ...config import BotCfg

    bot = BotCfg()
    return LocalGit(folder, bot_name=bot.name, bot_email=bot.email)
