"""An in-memory pull request (:class:`devops_mlops.ports.pull_requests.PullRequestThreads`) for tests
of the feedback of lint, test and deploy.

Made from the files of the target branch (``base``) and of the pull request's branch (``head``);
:meth:`FakePullRequest.push` is the author pushing again (a new iteration). :meth:`FakePullRequest.deny`
makes writes fail as a build identity without the right to comment sees it. Assertion helpers:
``threads_by_key()``, ``writes`` (every create and update, in order), ``anchors`` (thread id ->
(path, line)).
"""

from __future__ import annotations

import hashlib
import itertools

from ...core.pr_feedback import Thread
from ...errors import ServiceError
from ...ports.pull_requests import Iteration

STATUSES = ("unknown", "active", "fixed", "wontFix", "closed", "byDesign", "pending")


def _commit(files: dict[str, str]) -> str:
    return hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()


class FakePullRequest:
    def __init__(self, base: dict[str, str], head: dict[str, str], pull_request_id: int = 1) -> None:
        self.id = pull_request_id
        self.commits: dict[str, dict[str, str]] = {}
        self.base_commit = self._store(base)
        self.iterations: list[Iteration] = []
        self.push(head)
        self.threads_: dict[int, Thread] = {}
        self.anchors: dict[int, tuple[str, int]] = {}
        self.writes: list[str] = []
        self._ids = itertools.count(1)
        self._denied: ServiceError | None = None

    def _store(self, files: dict[str, str]) -> str:
        sha = _commit(files)
        self.commits[sha] = {"/" + path.lstrip("/"): text for path, text in files.items()}
        return sha

    # ------------------------------------------------------------ setting the scene
    def push(self, head: dict[str, str]) -> Iteration:
        """The branch now holds exactly ``head``: a new iteration."""
        iteration = Iteration(len(self.iterations) + 1, self.base_commit, self._store(head))
        self.iterations.append(iteration)
        return iteration

    def deny(self, code: str = "TF401027") -> None:
        """Writes fail from now on (TF401027: no 'Contribute to pull requests'; "403": no right at all)."""
        err = ServiceError(f"cannot create a comment thread on pull request {self.id}: "
                           f"{code}: You need the Git 'PullRequestContribute' permission to perform this action.")
        err.code = code  # type: ignore[attr-defined]
        self._denied = err

    def _write(self, what: str) -> None:
        if self._denied is not None:
            raise self._denied
        self.writes.append(what)

    def threads_by_key(self) -> dict[str | None, Thread]:
        """Assertion helper: the threads by their key (people's threads under None)."""
        return {t.key: t for t in self.threads_.values()}

    # ------------------------------------------------------------ the port
    def last_iteration(self) -> Iteration | None:
        return self.iterations[-1] if self.iterations else None

    def changed_files(self, iteration_id: int) -> dict[str, str]:
        head = self.commits[self.iterations[iteration_id - 1].head_commit]
        base = self.commits[self.base_commit]
        out = {p: "add" if p not in base else "edit" for p, text in head.items() if base.get(p) != text}
        out.update({p: "delete" for p in base if p not in head})
        return dict(sorted(out.items()))

    def file_text(self, path: str, commit: str) -> str | None:
        return self.commits.get(commit, {}).get(path)

    def threads(self) -> list[Thread]:
        return list(self.threads_.values())

    def create(self, key: str, content: str, status: str, path: str | None = None, line: int | None = None) -> int:
        self._write(f"create {key}")
        self._status(status)
        tid = next(self._ids)
        self.threads_[tid] = Thread(tid, status, key, 1, content)
        if path is not None and line is not None:
            self.anchors[tid] = (path, line)
        return tid

    def set_status(self, thread_id: int, status: str) -> None:
        self._write(f"status {thread_id} {status}")
        self._status(status)
        self.threads_[thread_id].status = status

    def set_content(self, thread_id: int, comment_id: int, content: str) -> None:
        self._write(f"content {thread_id}")
        thread = self.threads_[thread_id]
        if thread.comment_id != comment_id:
            raise ServiceError(f"cannot update a comment on pull request {self.id}: no comment {comment_id}")
        thread.content = content

    def _status(self, status: str) -> None:
        if status not in STATUSES:
            raise ServiceError(f"cannot update a comment thread on pull request {self.id}: Invalid thread status {status!r}.")
