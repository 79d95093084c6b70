"""Jobs API 2.1 / 2.2 (job definitions) of the Databricks emulator.

Routes: create, reset, update, get, list (``name``, ``expand_tasks``, ``limit`` / ``page_token``
pagination), delete. Stored settings get the defaults the service fills in (``max_concurrent_runs``
1, each task's ``run_if`` ALL_SUCCESS, ...). Settings whose tasks do not make a graph a job can
run (a cycle, a dependency on an unknown task, an unknown ``run_if``; see
:mod:`devops_mlops.core.jobgraph`) are refused with 400 ``INVALID_PARAMETER_VALUE``, as the
service refuses them.

State and assertion helpers: ``jobs`` (id -> settings), ``job_meta`` (id -> created_time,
creator), ``jobs_created`` (the bodies of every create), ``jobs_by_tag(key, value)``.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator
from typing import Any

from ...core.jobgraph import JobGraph, JobGraphError
from ..http import Request
from .server import err

VERSIONS = ("2.1", "2.2")


def check_tasks(tasks: list[dict[str, Any]]) -> JobGraph:
    """The graph of the tasks, or the 400 the service answers for tasks it cannot run."""
    try:
        return JobGraph.of(tasks)
    except JobGraphError as exc:
        raise err(400, "INVALID_PARAMETER_VALUE", str(exc)) from None


class JobsArea:
    """Mixin of :class:`~devops_mlops.testing.databricks.DatabricksEmulator`; state: ``jobs``,
    ``job_meta``, ``jobs_created``."""

    user: str
    lock: Any
    permissions: Any
    route: Callable[..., None]
    _now: Callable[[], int]

    def _install_jobs(self) -> None:
        self._job_ids: Iterator[int] = itertools.count(1)
        self.jobs: dict[int, dict[str, Any]] = {}
        self.job_meta: dict[int, dict[str, Any]] = {}
        self.jobs_created: list[dict[str, Any]] = []
        for v in VERSIONS:
            base = f"/api/{v}/jobs"
            self.route("POST", f"{base}/create", self._jobs_create)
            self.route("POST", f"{base}/reset", self._jobs_reset)
            self.route("POST", f"{base}/update", self._jobs_update)
            self.route("GET", f"{base}/get", self._jobs_get)
            self.route("GET", f"{base}/list", self._jobs_list)
            self.route("POST", f"{base}/delete", self._jobs_delete)

    # ------------------------------------------------------------ helpers for tests
    def jobs_by_tag(self, key: str, value: str) -> list[int]:
        with self.lock:
            return sorted(j for j, s in self.jobs.items() if (s.get("tags") or {}).get(key) == value)

    # ------------------------------------------------------------ state helpers
    def _check_settings(self, settings: Any) -> dict:
        if not isinstance(settings, dict):
            raise err(400, "INVALID_PARAMETER_VALUE", "settings must be an object")
        keys = [t.get("task_key") for t in settings.get("tasks", [])]
        if len(keys) != len(set(keys)):
            raise err(400, "INVALID_PARAMETER_VALUE", "Task keys must be unique")
        check_tasks(settings.get("tasks", []))
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
            raise err(400, "INVALID_PARAMETER_VALUE", "job_id must be a number") from None
        if jid not in self.jobs:
            raise err(400, "INVALID_PARAMETER_VALUE", f"Job {jid} does not exist.")
        return self.jobs[jid]

    def _job_doc(self, jid: int, tasks: bool = True) -> dict:
        settings = copy.deepcopy(self.jobs[jid])
        if not tasks:
            settings.pop("tasks", None)
            settings.pop("job_clusters", None)
        return {"job_id": jid, "settings": settings, "run_as_user_name": self.user, **self.job_meta[jid]}

    # ------------------------------------------------------------ routes
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

    def _jobs_get(self, q: Request) -> dict:
        self._job(q.arg("job_id"))
        return self._job_doc(int(q.arg("job_id") or 0))

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
