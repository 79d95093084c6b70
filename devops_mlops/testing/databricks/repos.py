"""Repos API 2.0 (Git folders) of the Databricks emulator.

Routes: list (``path_prefix``), create, get, update (PATCH ``branch`` / ``tag``: a pull), delete.
A Git folder is a ``REPO`` object of the workspace. Where a pull lands comes from ``git_heads``
((url, branch or tag) -> commit), or, for a url linked to a local git repository
(:meth:`ReposArea.link_git`), from that repository: the Git folder then holds the committed files
of its commit, as on Databricks.

Failure modes: ``git_credentials = False`` (403, no Git credential for the provider),
``dirty_repos`` (ids whose uncommitted changes block a checkout), an unknown branch or tag.
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import subprocess
import tarfile
from collections.abc import Callable
from typing import Any

from ..http import Request
from .server import err
from .workspace import JUPYTER_LANG, WsObject, source_language

ZERO = "0" * 40
NO_CREDENTIALS = ("Missing Git provider credentials. Go to User settings > Git Integration to add your personal "
                  "access token.")


class ReposArea:
    """Mixin of :class:`~devops_mlops.testing.databricks.DatabricksEmulator`; state: ``repos``,
    ``git_heads``, ``git_remotes``, ``git_credentials``, ``dirty_repos``."""

    user: str
    lock: Any
    objects: dict[str, WsObject]
    route: Callable[..., None]
    _mk: Callable[..., WsObject]
    _mkdirs: Callable[[str], None]
    _norm: Callable[[str | None], str]

    def _install_repos(self) -> None:
        self.repos: dict[int, dict[str, Any]] = {}
        #: (git url, branch or tag) -> the commit a pull lands on
        self.git_heads: dict[tuple[str, str], str] = {}
        #: git url -> a local git repository standing for that remote (:meth:`link_git`)
        self.git_remotes: dict[str, str] = {}
        self.git_credentials = True
        self.dirty_repos: set[int] = set()
        r = self.route
        r("GET", "/api/2.0/repos", self._repos_list)
        r("POST", "/api/2.0/repos", self._repos_create)
        r("GET", "/api/2.0/repos/{id}", self._repos_get)
        r("PATCH", "/api/2.0/repos/{id}", self._repos_update)
        r("DELETE", "/api/2.0/repos/{id}", self._repos_delete)

    # ------------------------------------------------------------ helpers for tests
    def add_repo(self, path: str, url: str, branch: str = "main", head: str = ZERO) -> int:
        with self.lock:
            return self._create_repo(path, url, "azureDevOpsServices", branch, head)

    def link_git(self, url: str, repository: str | os.PathLike) -> None:
        """Let Git folders of ``url`` pull from the local git repository ``repository``: a create or
        a pull puts the committed files of the branch or tag there (notebooks by their header,
        .ipynb as Jupyter notebooks, everything else as files); what is not committed (an
        untracked or ignored file) is not there, as on Databricks."""
        with self.lock:
            self.git_remotes[url] = os.fspath(repository)

    # ------------------------------------------------------------ linked repositories
    def _git_head(self, url: str, ref: str) -> str | None:
        """The commit ``ref`` (branch, then tag) is at in the linked repository of ``url``."""
        repo = self.git_remotes[url]
        for name in (f"refs/heads/{ref}", f"refs/tags/{ref}"):
            proc = subprocess.run(["git", "-C", repo, "rev-parse", "--verify", "-q", name + "^{commit}"],
                                  capture_output=True, text=True)
            if proc.returncode == 0:
                return proc.stdout.strip()
        return None

    def _checkout(self, repo: dict) -> None:
        """The Git folder's objects become the files of its commit in the linked repository."""
        root = repo["path"]
        for path in [p for p in self.objects if p.startswith(root + "/")]:
            del self.objects[path]
        archive = subprocess.run(["git", "-C", self.git_remotes[repo["url"]], "archive", "--format=tar",
                                  repo["head_commit_id"]], capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            for member in tar.getmembers():
                extracted = tar.extractfile(member) if member.isfile() else None
                if extracted is None:
                    continue
                content = extracted.read()
                path = posixpath.join(root, member.name)
                ext = posixpath.splitext(path)[1]
                kind, language, fmt = "FILE", source_language(path, content), None
                if ext == ".ipynb":
                    kind, fmt, path = "NOTEBOOK", "JUPYTER", path[: -len(ext)]
                    try:
                        meta = json.loads(content).get("metadata") or {}
                        lang = str((meta.get("kernelspec") or {}).get("language") or "python")
                    except (ValueError, AttributeError):
                        lang = "python"  # Databricks shows a notebook it cannot read as one all the same
                    language = JUPYTER_LANG.get(lang.lower(), "PYTHON")
                elif language:
                    kind, fmt, path = "NOTEBOOK", "SOURCE", path[: -len(ext)]
                self._mkdirs(posixpath.dirname(path))
                self._mk(path, kind, language=language, content=content, fmt=fmt)

    # ------------------------------------------------------------ routes
    @staticmethod
    def _repo_info(repo: dict) -> dict:
        return {k: v for k, v in repo.items() if v is not None}

    def _create_repo(self, path: str, url: str, provider: str, branch: str, head: str) -> int:
        self._mkdirs(posixpath.dirname(path))
        obj = self._mk(path, "REPO")
        repo = {"id": obj.object_id, "path": path, "url": url, "provider": provider, "branch": branch,
                "head_commit_id": head}
        self.repos[obj.object_id] = repo
        return obj.object_id

    def _repos_list(self, q: Request) -> dict:
        prefix = q.arg("path_prefix") or ""
        found = sorted((r for r in self.repos.values() if r["path"].startswith(prefix)), key=lambda r: r["id"])
        return {"repos": [self._repo_info(r) for r in found]} if found else {}

    def _repos_create(self, q: Request) -> dict:
        body = q.json or {}
        url, provider, path = body.get("url"), body.get("provider"), body.get("path")
        if not url or not provider:
            raise err(400, "INVALID_PARAMETER_VALUE", "url and provider are required")
        if not self.git_credentials:
            raise err(403, "PERMISSION_DENIED", NO_CREDENTIALS)
        path = self._norm(path) if path else f"/Repos/{self.user}/{posixpath.basename(url)}"
        if path in self.objects:
            raise err(400, "RESOURCE_ALREADY_EXISTS", f"Path ({path}) already exists.")
        branch = "main"
        if url in self.git_remotes:
            head = self._git_head(url, branch) or ZERO
            rid = self._create_repo(path, url, provider, branch, head)
            if head != ZERO:
                self._checkout(self.repos[rid])
        else:
            rid = self._create_repo(path, url, provider, branch, self.git_heads.get((url, branch), ZERO))
        return self._repo_info(self.repos[rid])

    def _repo(self, q: Request) -> dict:
        try:
            rid = int(q.params["id"])
        except ValueError:
            raise err(400, "INVALID_PARAMETER_VALUE", "repo id must be a number") from None
        if rid not in self.repos:
            raise err(404, "RESOURCE_DOES_NOT_EXIST", f"Repo {rid} does not exist")
        return self.repos[rid]

    def _repos_get(self, q: Request) -> dict:
        return self._repo_info(self._repo(q))

    def _repos_update(self, q: Request) -> dict:
        repo = self._repo(q)
        body = q.json or {}
        ref = body.get("branch") or body.get("tag")
        if not ref:
            return {}
        if not self.git_credentials:
            raise err(403, "PERMISSION_DENIED", NO_CREDENTIALS)
        if repo["id"] in self.dirty_repos:
            raise err(400, "INVALID_PARAMETER_VALUE", "Checkout failed: Your local changes to the following files "
                      "would be overwritten by checkout: notebooks/train.py. Please commit your changes or "
                      "stash them before you switch branches.")
        key = (repo["url"], ref)
        head = self._git_head(repo["url"], ref) if repo["url"] in self.git_remotes else self.git_heads.get(key)
        if head is None:
            raise err(400, "INVALID_PARAMETER_VALUE", f"Branch or tag {ref} does not exist in the remote repository")
        repo["head_commit_id"] = head
        repo["branch"] = body.get("branch")
        if repo["url"] in self.git_remotes:
            self._checkout(repo)
        return {}

    def _repos_delete(self, q: Request) -> dict:
        repo = self._repo(q)
        del self.repos[repo["id"]]
        prefix = repo["path"] + "/"
        for p in [p for p in self.objects if p == repo["path"] or p.startswith(prefix)]:
            del self.objects[p]
        return {}
