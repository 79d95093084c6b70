"""A stateful loopback emulator of the Databricks REST API subset mlops uses.

Point the real ``databricks-sdk`` at it (``host=emu.url``, PAT ``emu.token``)::

    with DatabricksEmulator(token="dapi-test") as emu:
        w = WorkspaceClient(host=emu.url, token="dapi-test")

Emulated (request and response shapes after the public REST reference):

* ``GET /.well-known/databricks-config`` (the SDK's first request)
* workspace 2.0: ``list``, ``get-status``, ``mkdirs``, ``import`` (SOURCE / JUPYTER / RAW / AUTO,
  base64 content, ``overwrite``), ``export``, ``delete`` (``recursive``)
* repos 2.0 (Git folders): list (``path_prefix``), create, get, update (PATCH branch/tag), delete;
  with a linked local repository (``link_git``) a Git folder holds the files of its commit
* files 2.0 (Unity Catalog volumes): see :mod:`devops_mlops.testing.databricks_files` (``emu.volumes``)
* jobs 2.1 and 2.2: create, reset, get, list (``name``, ``expand_tasks``, pagination), delete,
  run-now, runs/submit (``idempotency_token``), runs/get, runs/get-output, runs/cancel

Runs advance one step per ``runs/get`` (``run_steps`` per task; 0 = finished at once) in
dependency order; :meth:`set_outcome` makes a task fail with an error, a trace and output.
Faults come from :class:`devops_mlops.testing.http.Faults` (``emu.faults``).

Assertion helpers: ``files`` (path -> bytes), ``folders``, ``objects``, ``jobs`` (id -> settings),
``jobs_created``, ``jobs_by_tag()``, ``runs``, ``repos``, ``imports()``, ``edit()`` (a change made
in the workspace UI), and the base's ``requests`` / ``requests_by_path`` / ``writes``.
"""

from __future__ import annotations

import base64
import copy
import io
import itertools
import json
import os
import posixpath
import socket
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from typing import Any

from .http import Emulator, HttpError, Request

HEADERS = {"PYTHON": "# Databricks notebook source", "SQL": "-- Databricks notebook source",
           "SCALA": "// Databricks notebook source", "R": "# Databricks notebook source"}
EXT_LANG = {".py": "PYTHON", ".sql": "SQL", ".scala": "SCALA", ".r": "R", ".R": "R"}


def _err(status: int, code: str, message: str) -> HttpError:
    return HttpError(status, {"error_code": code, "message": message})


@dataclass
class WsObject:
    path: str
    object_type: str  # DIRECTORY | NOTEBOOK | FILE | REPO
    object_id: int
    created_at: int
    modified_at: int
    language: str | None = None
    content: bytes = b""
    fmt: str | None = None  # how a notebook was imported: SOURCE | JUPYTER

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {"object_type": self.object_type, "path": self.path, "object_id": self.object_id,
                               "created_at": self.created_at, "modified_at": self.modified_at,
                               "resource_id": str(self.object_id)}
        if self.language:
            out["language"] = self.language
        if self.object_type == "FILE":
            out["size"] = len(self.content)
        return out


@dataclass
class TaskOutcome:
    result: str = "SUCCESS"  # SUCCESS | FAILED | TIMEDOUT
    error: str | None = None
    error_trace: str | None = None
    output: str | None = None  # dbutils.notebook.exit value


@dataclass
class EmuRun:
    run_id: int
    job_id: int | None
    run_name: str
    tasks: list[dict[str, Any]]
    job_parameters: dict[str, str] = field(default_factory=dict)
    polls: int = 0
    canceled: bool = False
    task_runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # task_key -> state
    #: executed runs (``emu.execute``): task_key -> how the task ended
    outputs: dict[str, TaskOutcome] = field(default_factory=dict)
    executed: bool = False


class DatabricksEmulator(Emulator):
    def __init__(self, *, token: str | None = "dapi-emulator", latency: float = 0.0, faults=None,
                 run_steps: int = 0, user: str = "ci@example.com"):
        super().__init__(token=token, latency=latency, faults=faults)
        self.user = user
        self.run_steps = run_steps
        self.objects: dict[str, WsObject] = {}
        self._ids = itertools.count(1000)
        self._job_ids = itertools.count(1)
        self._run_ids = itertools.count(100)
        self._last_ms = 0
        self.jobs: dict[int, dict[str, Any]] = {}
        self.job_meta: dict[int, dict[str, Any]] = {}
        self.jobs_created: list[dict[str, Any]] = []
        self.runs: dict[int, EmuRun] = {}
        self.task_run_index: dict[int, tuple[int, str]] = {}
        self.outcomes: dict[str, TaskOutcome] = {}
        self.idempotency: dict[str, int] = {}
        self.repos: dict[int, dict[str, Any]] = {}
        #: (git url, branch or tag) -> the commit a pull lands on
        self.git_heads: dict[tuple[str, str], str] = {}
        #: git url -> a local git repository standing for that remote (:meth:`link_git`): a Git folder
        #: of that url then holds the files of the commit it is on, as a real one does
        self.git_remotes: dict[str, str] = {}
        self.git_credentials = True
        self.dirty_repos: set[int] = set()
        #: set by :meth:`execute`: runs execute their notebook tasks (see databricks_runtime)
        self.executor = None
        self._mk("/", "DIRECTORY")
        for p in ("/Users", "/Shared", "/Repos", f"/Users/{user}"):
            self._mk(p, "DIRECTORY")
        self._routes_init()
        from .databricks_catalog import CatalogStore

        #: Unity Catalog catalogs, schemas and effective privileges (see databricks_catalog)
        self.catalog = CatalogStore(self)
        from .databricks_files import VolumeStore

        #: Unity Catalog volumes through the Files API (see databricks_files)
        self.volumes = VolumeStore(self)
        from .databricks_permissions import PermissionStore

        #: SCIM Me and the job permissions API (see databricks_permissions)
        self.permissions = PermissionStore(self)
        from .databricks_mlflow import MlflowStore

        #: the MLflow tracking, artifact and model registry APIs (see databricks_mlflow)
        self.mlflow = MlflowStore(self)

    def _send(self, h, response) -> None:
        # headers and body leave in two writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms each
        try:
            h.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        super()._send(h, response)

    def authorized(self, req: Request) -> bool:
        # the host-metadata probe is public, as on a real workspace
        return req.path.startswith("/.well-known/") or super().authorized(req)

    # ------------------------------------------------------------ helpers for tests
    @property
    def files(self) -> dict[str, bytes]:
        """Every notebook and file: path -> content."""
        with self.lock:
            return {p: o.content for p, o in self.objects.items() if o.object_type in ("NOTEBOOK", "FILE")}

    @property
    def folders(self) -> list[str]:
        with self.lock:
            return sorted(p for p, o in self.objects.items() if o.object_type == "DIRECTORY")

    def imports(self, under: str = "") -> list[Request]:
        return [r for r in self.requests_by_path(r"/api/2\.0/workspace/import$", "POST")
                if (r.json or {}).get("path", "").startswith(under)]

    def api_requests(self) -> list[Request]:
        """Requests to /api/ (leaves out the SDK's host-metadata probe)."""
        return [r for r in self.requests if r.path.startswith("/api/")]

    def edit(self, path: str, content: bytes) -> None:
        """A change made in the workspace UI (new content, new modified_at)."""
        with self.lock:
            obj = self.objects[path]
            obj.content = content
            obj.modified_at = self._now()

    def jobs_by_tag(self, key: str, value: str) -> list[int]:
        with self.lock:
            return sorted(j for j, s in self.jobs.items() if (s.get("tags") or {}).get(key) == value)

    def set_outcome(self, key: str, result: str = "FAILED", *, error: str | None = None,
                    error_trace: str | None = None, output: str | None = None) -> None:
        """``key``: a task_key or a notebook path; later runs of that task end this way."""
        self.outcomes[key] = TaskOutcome(result, error, error_trace, output)

    def execute(self, runtime=None) -> None:
        """From now on, ``run-now`` and ``runs/submit`` execute notebook tasks for real, from the
        emulated workspace, in a fresh environment holding only the tasks' libraries
        (:class:`devops_mlops.testing.databricks_runtime.ClusterRuntime`)."""
        from .databricks_runtime import ClusterRuntime, Executor

        self.runtime = runtime or ClusterRuntime()
        self.executor = Executor(self, self.runtime)

    def add_repo(self, path: str, url: str, branch: str = "main", head: str = "0" * 40) -> int:
        with self.lock:
            return self._create_repo(path, url, "azureDevOpsServices", branch, head)

    def link_git(self, url: str, repository: str | os.PathLike) -> None:
        """Let Git folders of ``url`` pull from the local git repository ``repository``: a create or
        a pull puts the committed files of the branch or tag there (notebooks by their header,
        .ipynb as Jupyter notebooks, everything else as files); what is not committed (an
        untracked or ignored file) is not there, as on Databricks."""
        with self.lock:
            self.git_remotes[url] = os.fspath(repository)

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
                if not member.isfile():
                    continue
                content = tar.extractfile(member).read()
                path = posixpath.join(root, member.name)
                ext = posixpath.splitext(path)[1]
                kind, language, fmt = "FILE", None, None
                if ext == ".ipynb":
                    kind, fmt, path = "NOTEBOOK", "JUPYTER", path[: -len(ext)]
                    try:
                        meta = json.loads(content).get("metadata") or {}
                        lang = str((meta.get("kernelspec") or {}).get("language") or "python")
                    except (ValueError, AttributeError):
                        lang = "python"  # Databricks shows a notebook it cannot read as one all the same
                    language = {"sql": "SQL", "scala": "SCALA", "r": "R"}.get(lang.lower(), "PYTHON")
                elif ext in EXT_LANG and content.lstrip().startswith(HEADERS[EXT_LANG[ext]].encode()):
                    kind, fmt, language, path = "NOTEBOOK", "SOURCE", EXT_LANG[ext], path[: -len(ext)]
                self._mkdirs(posixpath.dirname(path))
                self._mk(path, kind, language=language, content=content, fmt=fmt)

    # ------------------------------------------------------------ state helpers
    def _now(self) -> int:
        ms = max(int(time.time() * 1000), self._last_ms + 1)
        self._last_ms = ms
        return ms

    def _mk(self, path: str, kind: str, **kw: Any) -> WsObject:
        now = self._now()
        obj = WsObject(path, kind, next(self._ids), now, now, **kw)
        self.objects[path] = obj
        return obj

    @staticmethod
    def _norm(path: str | None) -> str:
        if not path or not path.startswith("/"):
            raise _err(400, "INVALID_PARAMETER_VALUE", f"Path ({path}) must be absolute")
        out = posixpath.normpath(path)
        return "/" if out in ("/", "//") else out

    def _children(self, path: str) -> list[WsObject]:
        prefix = path.rstrip("/") + "/"
        return [o for p, o in self.objects.items() if p.startswith(prefix) and "/" not in p[len(prefix):] and p != "/"]

    def _mkdirs(self, path: str) -> None:
        parts = [p for p in path.split("/") if p]
        cur = ""
        for part in parts:
            cur += "/" + part
            obj = self.objects.get(cur)
            if obj is None:
                self._mk(cur, "DIRECTORY")
            elif obj.object_type not in ("DIRECTORY", "REPO"):
                raise _err(400, "RESOURCE_ALREADY_EXISTS", f"Path ({cur}) already exists and is not a directory.")

    # ------------------------------------------------------------ routes
    def _routes_init(self) -> None:
        r = self.route
        r("GET", "/.well-known/databricks-config", lambda q: {"workspace_id": "1234567890", "cloud": "azure"})
        r("GET", "/api/2.0/workspace/list", self._ws_list)
        r("GET", "/api/2.0/workspace/get-status", self._ws_status)
        r("POST", "/api/2.0/workspace/mkdirs", self._ws_mkdirs)
        r("POST", "/api/2.0/workspace/import", self._ws_import)
        r("GET", "/api/2.0/workspace/export", self._ws_export)
        r("POST", "/api/2.0/workspace/delete", self._ws_delete)
        r("GET", "/api/2.0/repos", self._repos_list)
        r("POST", "/api/2.0/repos", self._repos_create)
        r("GET", "/api/2.0/repos/{id}", self._repos_get)
        r("PATCH", "/api/2.0/repos/{id}", self._repos_update)
        r("DELETE", "/api/2.0/repos/{id}", self._repos_delete)
        for v in ("2.1", "2.2"):
            base = f"/api/{v}/jobs"
            r("POST", f"{base}/create", self._jobs_create)
            r("POST", f"{base}/reset", self._jobs_reset)
            r("POST", f"{base}/update", self._jobs_update)
            r("GET", f"{base}/get", self._jobs_get)
            r("GET", f"{base}/list", self._jobs_list)
            r("POST", f"{base}/delete", self._jobs_delete)
            r("POST", f"{base}/run-now", self._run_now)
            r("POST", f"{base}/runs/submit", self._runs_submit)
            r("GET", f"{base}/runs/get", self._runs_get)
            r("GET", f"{base}/runs/get-output", self._runs_output)
            r("POST", f"{base}/runs/cancel", self._runs_cancel)

    # ------------------------------------------------------------ workspace
    def _ws_list(self, q: Request) -> dict:
        path = self._norm(q.arg("path"))
        obj = self.objects.get(path)
        if obj is None:
            raise _err(404, "RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")
        if obj.object_type not in ("DIRECTORY", "REPO"):
            return {"objects": [obj.info()]}
        kids = sorted(self._children(path), key=lambda o: o.path)
        return {"objects": [o.info() for o in kids]} if kids else {}

    def _ws_status(self, q: Request) -> dict:
        path = self._norm(q.arg("path"))
        obj = self.objects.get(path)
        if obj is None:
            raise _err(404, "RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")
        return obj.info()

    def _ws_mkdirs(self, q: Request) -> dict:
        self._mkdirs(self._norm((q.json or {}).get("path")))
        return {}

    def _ws_import(self, q: Request) -> dict:
        body = q.json or {}
        path = self._norm(body.get("path"))
        fmt = (body.get("format") or "SOURCE").upper()
        language = body.get("language")
        try:
            content = base64.b64decode(body.get("content") or "", validate=True)
        except ValueError:
            raise _err(400, "INVALID_PARAMETER_VALUE", "content is not valid base64") from None
        kind = "NOTEBOOK"
        if fmt == "AUTO":
            ext = posixpath.splitext(path)[1]
            if ext == ".ipynb":
                fmt, path = "JUPYTER", path[: -len(ext)]
            elif ext in EXT_LANG and content.lstrip().startswith(HEADERS[EXT_LANG[ext]].encode()):
                fmt, language, path = "SOURCE", EXT_LANG[ext], path[: -len(ext)]
            else:
                fmt = "RAW"
        if fmt == "RAW":
            kind, language = "FILE", None
        elif fmt == "SOURCE":
            if language not in HEADERS:
                raise _err(400, "INVALID_PARAMETER_VALUE", "The language is required for the SOURCE format")
        elif fmt == "JUPYTER":
            try:
                nb = json.loads(content)
                lang = ((nb.get("metadata") or {}).get("kernelspec") or {}).get("language") or "python"
            except ValueError:
                raise _err(400, "INVALID_PARAMETER_VALUE", "Unable to parse the notebook as Jupyter") from None
            language = {"python": "PYTHON", "sql": "SQL", "scala": "SCALA", "r": "R"}.get(lang.lower(), "PYTHON")
        else:
            raise _err(400, "INVALID_PARAMETER_VALUE", f"Unsupported import format {fmt}")
        parent = posixpath.dirname(path)
        pobj = self.objects.get(parent)
        if pobj is None or pobj.object_type not in ("DIRECTORY", "REPO"):
            raise _err(404, "RESOURCE_DOES_NOT_EXIST", f"The parent folder ({parent}) does not exist.")
        existing = self.objects.get(path)
        if existing is not None:
            if not body.get("overwrite"):
                raise _err(400, "RESOURCE_ALREADY_EXISTS", f"{path} already exists.")
            if existing.object_type in ("DIRECTORY", "REPO"):
                raise _err(400, "RESOURCE_ALREADY_EXISTS", f"{path} already exists as a directory.")
            existing.object_type, existing.language, existing.content, existing.fmt = kind, language, content, fmt
            existing.modified_at = self._now()
        else:
            self._mk(path, kind, language=language, content=content, fmt=fmt if kind == "NOTEBOOK" else None)
        return {}

    def _ws_export(self, q: Request) -> dict:
        path = self._norm(q.arg("path"))
        obj = self.objects.get(path)
        if obj is None:
            raise _err(404, "RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")
        if obj.object_type in ("DIRECTORY", "REPO"):
            raise _err(400, "INVALID_PARAMETER_VALUE", "Exporting a directory needs format DBC or AUTO")
        file_type = {"PYTHON": "py", "SQL": "sql", "SCALA": "scala", "R": "r"}.get(obj.language or "", "")
        if obj.fmt == "JUPYTER":
            file_type = "ipynb"
        return {"content": base64.b64encode(obj.content).decode(), "file_type": file_type}

    def _ws_delete(self, q: Request) -> dict:
        body = q.json or {}
        path = self._norm(body.get("path"))
        obj = self.objects.get(path)
        if obj is None:
            raise _err(404, "RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")
        prefix = path.rstrip("/") + "/"
        below = [p for p in self.objects if p.startswith(prefix)]
        if below and not body.get("recursive"):
            raise _err(400, "DIRECTORY_NOT_EMPTY", f"Folder ({path}) is not empty.")
        for p in below + [path]:
            del self.objects[p]
        return {}

    # ------------------------------------------------------------ repos
    def _repo_info(self, repo: dict) -> dict:
        return {k: v for k, v in repo.items() if v is not None}

    def _create_repo(self, path: str, url: str, provider: str, branch: str, head: str) -> int:
        parent = posixpath.dirname(path)
        self._mkdirs(parent)
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
            raise _err(400, "INVALID_PARAMETER_VALUE", "url and provider are required")
        if not self.git_credentials:
            raise _err(403, "PERMISSION_DENIED", "Missing Git provider credentials. Go to User settings > "
                       "Git Integration to add your personal access token.")
        path = self._norm(path) if path else f"/Repos/{self.user}/{posixpath.basename(url)}"
        if path in self.objects:
            raise _err(400, "RESOURCE_ALREADY_EXISTS", f"Path ({path}) already exists.")
        branch = "main"
        if url in self.git_remotes:
            head = self._git_head(url, branch) or "0" * 40
            rid = self._create_repo(path, url, provider, branch, head)
            if head != "0" * 40:
                self._checkout(self.repos[rid])
        else:
            rid = self._create_repo(path, url, provider, branch, self.git_heads.get((url, branch), "0" * 40))
        return self._repo_info(self.repos[rid])

    def _repo(self, q: Request) -> dict:
        try:
            rid = int(q.params["id"])
        except ValueError:
            raise _err(400, "INVALID_PARAMETER_VALUE", "repo id must be a number") from None
        if rid not in self.repos:
            raise _err(404, "RESOURCE_DOES_NOT_EXIST", f"Repo {rid} does not exist")
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
            raise _err(403, "PERMISSION_DENIED", "Missing Git provider credentials. Go to User settings > "
                       "Git Integration to add your personal access token.")
        if repo["id"] in self.dirty_repos:
            raise _err(400, "INVALID_PARAMETER_VALUE", "Checkout failed: Your local changes to the following files "
                       "would be overwritten by checkout: notebooks/train.py. Please commit your changes or "
                       "stash them before you switch branches.")
        key = (repo["url"], ref)
        head = self._git_head(repo["url"], ref) if repo["url"] in self.git_remotes else self.git_heads.get(key)
        if head is None:
            raise _err(400, "INVALID_PARAMETER_VALUE", f"Branch or tag {ref} does not exist in the remote repository")
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

    # ------------------------------------------------------------ jobs
    def _check_settings(self, settings: Any) -> dict:
        if not isinstance(settings, dict):
            raise _err(400, "INVALID_PARAMETER_VALUE", "settings must be an object")
        keys = [t.get("task_key") for t in settings.get("tasks", [])]
        if len(keys) != len(set(keys)):
            raise _err(400, "INVALID_PARAMETER_VALUE", "Task keys must be unique")
        stored = copy.deepcopy(settings)
        # what the service adds to the settings it stores
        stored.setdefault("name", "Untitled")
        stored.setdefault("email_notifications", {})
        stored.setdefault("webhook_notifications", {})
        stored.setdefault("timeout_seconds", 0)
        stored.setdefault("max_concurrent_runs", 1)
        stored.setdefault("format", "MULTI_TASK")
        stored.setdefault("run_as", {"user_name": self.user})
        for t in stored.get("tasks", []):
            t.setdefault("run_if", "ALL_SUCCESS")
            t.setdefault("timeout_seconds", 0)
            t.setdefault("email_notifications", {})
            if "notebook_task" in t:
                t["notebook_task"].setdefault("source", "WORKSPACE")
        return stored

    def _job(self, job_id: Any) -> dict:
        try:
            jid = int(job_id)
        except (TypeError, ValueError):
            raise _err(400, "INVALID_PARAMETER_VALUE", "job_id must be a number") from None
        if jid not in self.jobs:
            raise _err(400, "INVALID_PARAMETER_VALUE", f"Job {jid} does not exist.")
        return self.jobs[jid]

    def _jobs_create(self, q: Request) -> dict:
        body = dict(q.json or {})
        body.pop("access_control_list", None)
        stored = self._check_settings(body)
        jid = next(self._job_ids)
        self.jobs[jid] = stored
        self.job_meta[jid] = {"created_time": self._now(), "creator_user_name": self.user}
        self.jobs_created.append(copy.deepcopy(body))
        return {"job_id": jid}

    def _jobs_reset(self, q: Request) -> dict:
        body = q.json or {}
        self._job(body.get("job_id"))
        self.jobs[int(body["job_id"])] = self._check_settings(body.get("new_settings") or {})
        return {}

    def _jobs_update(self, q: Request) -> dict:
        body = q.json or {}
        current = self._job(body.get("job_id"))
        merged = {**current, **(body.get("new_settings") or {})}
        for key in body.get("fields_to_remove") or []:
            merged.pop(key, None)
        self.jobs[int(body["job_id"])] = self._check_settings(merged)
        return {}

    def _job_doc(self, jid: int, tasks: bool = True) -> dict:
        settings = copy.deepcopy(self.jobs[jid])
        if not tasks:
            settings.pop("tasks", None)
            settings.pop("job_clusters", None)
        return {"job_id": jid, "settings": settings, "run_as_user_name": self.user, **self.job_meta[jid]}

    def _jobs_get(self, q: Request) -> dict:
        self._job(q.arg("job_id"))
        return self._job_doc(int(q.arg("job_id")))

    def _jobs_list(self, q: Request) -> dict:
        limit = min(int(q.arg("limit") or 20), 100)
        offset = int(q.arg("page_token") or q.arg("offset") or 0)
        name = q.arg("name")
        expand = (q.arg("expand_tasks") or "false").lower() == "true"
        ids = sorted(j for j in self.jobs if name is None or self.jobs[j].get("name") == name)
        page = ids[offset: offset + limit]
        out: dict[str, Any] = {}
        if page:
            out["jobs"] = [self._job_doc(j, expand) for j in page]
        has_more = offset + limit < len(ids)
        out["has_more"] = has_more
        if has_more:
            out["next_page_token"] = str(offset + limit)
        if offset:
            out["prev_page_token"] = str(max(0, offset - limit))
        return out

    def _jobs_delete(self, q: Request) -> dict:
        body = q.json or {}
        self._job(body.get("job_id"))
        del self.jobs[int(body["job_id"])]
        self.permissions.forget(int(body["job_id"]))
        return {}

    # ------------------------------------------------------------ runs
    def _start_run(self, job_id: int | None, name: str, tasks: list[dict], params: dict) -> int:
        rid = next(self._run_ids)
        run = EmuRun(rid, job_id, name, copy.deepcopy(tasks), dict(params or {}))
        for t in run.tasks:
            trid = next(self._run_ids)
            run.task_runs[t["task_key"]] = {"run_id": trid, "life_cycle_state": "PENDING", "result_state": None}
            self.task_run_index[trid] = (rid, t["task_key"])
        self.runs[rid] = run
        if self.executor is not None:
            run.executed = True
            self.executor.start(run)
        elif self.run_steps == 0:
            self._advance(run, 10_000)
        return rid

    def _run_now(self, q: Request) -> dict:
        body = q.json or {}
        jid = int(body.get("job_id") or 0)
        settings = self._job(jid)
        token = body.get("idempotency_token")
        if token and token in self.idempotency:
            return {"run_id": self.idempotency[token]}
        params = {p["name"]: str(p.get("default", "")) for p in settings.get("parameters", [])}
        params.update(body.get("job_parameters") or {})
        rid = self._start_run(jid, settings.get("name", ""), settings.get("tasks", []), params)
        if token:
            self.idempotency[token] = rid
        return {"run_id": rid, "number_in_job": rid}

    def _runs_submit(self, q: Request) -> dict:
        body = q.json or {}
        token = body.get("idempotency_token")
        if token and token in self.idempotency:
            return {"run_id": self.idempotency[token]}
        tasks = body.get("tasks") or []
        if not tasks:
            raise _err(400, "INVALID_PARAMETER_VALUE", "A run needs at least one task")
        rid = self._start_run(None, body.get("run_name") or "Untitled", tasks, {})
        if token:
            self.idempotency[token] = rid
        return {"run_id": rid}

    def _outcome(self, task: dict, run: EmuRun | None = None) -> TaskOutcome:
        if run is not None and task["task_key"] in run.outputs:
            return run.outputs[task["task_key"]]
        nb = (task.get("notebook_task") or {}).get("notebook_path")
        return self.outcomes.get(task["task_key"]) or (self.outcomes.get(nb) if nb else None) or TaskOutcome()

    def _advance(self, run: EmuRun, steps: int) -> None:
        for _ in range(steps):
            progressed = False
            for t in run.tasks:
                tr = run.task_runs[t["task_key"]]
                if tr["life_cycle_state"] in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR"):
                    continue
                deps = [run.task_runs[d["task_key"]] for d in t.get("depends_on", [])]
                if any(d["life_cycle_state"] not in ("TERMINATED", "SKIPPED") for d in deps):
                    continue
                if run.canceled:
                    tr.update(life_cycle_state="TERMINATED", result_state="CANCELED")
                    progressed = True
                elif any(d["result_state"] != "SUCCESS" for d in deps) and t.get("run_if", "ALL_SUCCESS") == "ALL_SUCCESS":
                    tr.update(life_cycle_state="TERMINATED", result_state="UPSTREAM_FAILED")
                    progressed = True
                elif tr["life_cycle_state"] == "PENDING":
                    tr["life_cycle_state"] = "RUNNING"
                    progressed = True
                    break
                else:
                    out = self._outcome(t)
                    tr.update(life_cycle_state="TERMINATED", result_state=out.result)
                    progressed = True
                    break
            if not progressed:
                break

    def _run_doc(self, run: EmuRun) -> dict:
        states = [run.task_runs[t["task_key"]] for t in run.tasks]
        if all(s["life_cycle_state"] == "TERMINATED" for s in states):
            life = "TERMINATED"
            if run.canceled:
                result = "CANCELED"
            elif all(s["result_state"] == "SUCCESS" for s in states):
                result = "SUCCESS"
            else:
                result = "FAILED"
        else:
            life = "RUNNING" if any(s["life_cycle_state"] != "PENDING" for s in states) else "PENDING"
            result = None
        state = {"life_cycle_state": life, "state_message": ""}
        if result:
            state["result_state"] = result
        tasks = []
        for t in run.tasks:
            s = run.task_runs[t["task_key"]]
            tstate = {"life_cycle_state": s["life_cycle_state"]}
            if s["result_state"]:
                tstate["result_state"] = s["result_state"]
            doc = {"run_id": s["run_id"], "task_key": t["task_key"], "state": tstate}
            for k in ("notebook_task", "depends_on"):
                if k in t:
                    doc[k] = copy.deepcopy(t[k])
            tasks.append(doc)
        out = {"run_id": run.run_id, "run_name": run.run_name, "state": state, "tasks": tasks,
               "run_page_url": f"{self.url}/#job/{run.job_id or 0}/run/{run.run_id}", "creator_user_name": self.user,
               "job_parameters": [{"name": k, "value": v} for k, v in run.job_parameters.items()]}
        if run.job_id is not None:
            out["job_id"] = run.job_id
        return out

    def _get_run(self, value: Any) -> EmuRun:
        try:
            rid = int(value)
        except (TypeError, ValueError):
            raise _err(400, "INVALID_PARAMETER_VALUE", "run_id must be a number") from None
        if rid not in self.runs:
            raise _err(400, "INVALID_PARAMETER_VALUE", f"Run {rid} does not exist.")
        return self.runs[rid]

    def _runs_get(self, q: Request) -> dict:
        run = self._get_run(q.arg("run_id"))
        run.polls += 1
        if self.run_steps and not run.executed:
            self._advance(run, self.run_steps)
        return self._run_doc(run)

    def _runs_output(self, q: Request) -> dict:
        try:
            trid = int(q.arg("run_id") or 0)
        except ValueError:
            raise _err(400, "INVALID_PARAMETER_VALUE", "run_id must be a number") from None
        if trid in self.runs:
            run = self.runs[trid]
            if len(run.tasks) > 1:
                raise _err(400, "INVALID_PARAMETER_VALUE", "Retrieving the output of runs with multiple tasks is "
                           "not supported. Please retrieve the output of each individual task run instead.")
            trid = run.task_runs[run.tasks[0]["task_key"]]["run_id"]
        if trid not in self.task_run_index:
            raise _err(400, "INVALID_PARAMETER_VALUE", f"Run {trid} does not exist.")
        rid, key = self.task_run_index[trid]
        run = self.runs[rid]
        task = next(t for t in run.tasks if t["task_key"] == key)
        state = run.task_runs[key]
        doc: dict[str, Any] = {"metadata": {"run_id": trid, "task_key": key, "job_id": run.job_id,
                                            "state": {"life_cycle_state": state["life_cycle_state"]}}}
        if state["life_cycle_state"] != "TERMINATED":
            return doc
        out = self._outcome(task, run)
        if state["result_state"] in ("FAILED", "TIMEDOUT"):
            doc["error"] = out.error or "Notebook failed"
            if out.error_trace:
                doc["error_trace"] = out.error_trace
        if out.output is not None and "notebook_task" in task:
            doc["notebook_output"] = {"result": out.output, "truncated": False}
        return doc

    def _runs_cancel(self, q: Request) -> dict:
        run = self._get_run((q.json or {}).get("run_id"))
        run.canceled = True
        if not run.executed:  # an executed run cancels its tasks that have not started
            self._advance(run, 10_000)
        return {}


# ------------------------------------------------------------------ a sample project for tests and benchmarks
SAMPLE_NOTEBOOK = "# Databricks notebook source\nprint({n})\n"


def sample_project(root, *, host: str | None = None, notebooks: int = 3, folders: int = 1,
                   jobs: int = 1, project: str = "demo") -> Any:
    """Write a small mlops project into ``root`` (a ``pathlib.Path``): mlops.yaml with the targets
    ``local``, ``dev`` (databricks, workspace_dir ``/Shared/demo``) and ``prod`` (databricks Git
    folder ``/Repos/ci/demo``, branch main), ``notebooks`` spread over ``folders`` folders, and
    ``jobs`` two-task jobs in ``resources/jobs.yml``. Returns the mlops.yaml path."""
    from pathlib import Path

    root = Path(root)
    host_line = f"    host: {host}\n" if host else ""
    (root / "mlops.yaml").write_text(
        f"project: {project}\nmodel: {{name: m}}\nvariables: {{env_name: test}}\n"
        "targets:\n  local: {default: true}\n"
        f"  dev:\n    backend: databricks\n{host_line}    workspace_dir: /Shared/demo\n"
        "    compute: {serverless: true}\n    variables: {env_name: dev}\n"
        f"  prod:\n    backend: databricks\n{host_line}    repo_path: /Repos/ci/demo\n"
        "    git_url: https://dev.azure.com/org/proj/_git/demo\n    branch: main\n"
    )
    nb = root / "notebooks"
    for i in range(notebooks):
        folder = nb / (f"f{i % folders}" if folders > 1 else "")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"nb{i}.py").write_text(SAMPLE_NOTEBOOK.format(n=i))
    first = nb / ("f0" if folders > 1 else "") / "nb0.py"
    second = nb / (f"f{1 % folders}" if folders > 1 else "") / f"nb{min(1, notebooks - 1)}.py"
    res = root / "resources"
    res.mkdir(exist_ok=True)
    lines = ["resources:", "  jobs:"]
    for j in range(jobs):
        lines += [
            f"    job{j}:",
            f"      name: demo-job{j}-${{target}}",
            "      parameters: [{name: env, default: \"${var.env_name}\"}]",
            "      tasks:",
            "        - task_key: first",
            f"          notebook_task: {{notebook_path: {first.relative_to(root).as_posix()}}}",
            "        - task_key: second",
            "          depends_on: [{task_key: first}]",
            f"          notebook_task: {{notebook_path: {second.relative_to(root).as_posix()}, "
            f"base_parameters: {{n: \"{j}\"}}}}",
        ]
    (res / "jobs.yml").write_text("\n".join(lines) + "\n")
    return root / "mlops.yaml"
