"""Jobs port over the Databricks Jobs API 2.2, through the SDK's ``ApiClient``.

The settings go through as plain JSON (``w.api_client.do``), so JobSettings keys newer than
the SDK's dataclasses pass through unchanged and read back the same. Retries: the SDK retries
429/503 and connection resets; :func:`client.call` retries what it gave up on for idempotent
calls. ``create`` is not idempotent: a lost answer may leave a second job, which
``ops.deploy`` finds by its tags and removes. ``run_now`` / ``submit`` carry an
``idempotency_token`` so a retried request never starts a second run.
"""

from __future__ import annotations

import uuid
from typing import Any

from ...errors import ServiceError
from ...ports.jobs import Job, Run, TaskRun
from .client import call, client_for, error_code, translate

API = "/api/2.2/jobs"
TERMINAL = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")


def _missing(exc: Any) -> bool:
    text = str(exc).lower()
    return error_code(exc) in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE") and "does not exist" in text


class DatabricksJobs:
    def __init__(self, client: Any, host: str | None = None):
        self.w = client
        self.host = host

    def _do(self, method: str, path: str, what: str, *, query=None, body=None, retry: bool = True) -> dict:
        return call(lambda: self.w.api_client.do(method, API + path, query=query, body=body), what, retry=retry) or {}

    # ------------------------------------------------------------ jobs
    def list(self) -> list[Job]:
        out: list[Job] = []
        token = None
        while True:
            query: dict[str, Any] = {"limit": 100, "expand_tasks": "true"}
            if token:
                query["page_token"] = token
            page = self._do("GET", "/list", "list jobs", query=query)
            out.extend(Job(int(j["job_id"]), j.get("settings") or {}) for j in page.get("jobs", []))
            token = page.get("next_page_token")
            if not page.get("has_more") or not token:
                return out

    def get(self, job_id: int) -> Job | None:
        def go():
            try:
                return self.w.api_client.do("GET", API + "/get", query={"job_id": job_id})
            except Exception as exc:
                if _missing(exc):
                    return None
                raise

        doc = call(go, f"get job {job_id}")
        return Job(int(doc["job_id"]), doc.get("settings") or {}) if doc else None

    def create(self, settings: dict[str, Any]) -> int:
        # not idempotent: no retry of our own (see the module docstring)
        return int(self._do("POST", "/create", f"create job {settings.get('name')!r}", body=settings,
                            retry=False)["job_id"])

    def reset(self, job_id: int, settings: dict[str, Any]) -> None:
        self._do("POST", "/reset", f"reset job {job_id}", body={"job_id": job_id, "new_settings": settings})

    def delete(self, job_id: int) -> None:
        def go():
            try:
                self.w.api_client.do("POST", API + "/delete", body={"job_id": job_id})
            except Exception as exc:
                if _missing(exc):  # gone already (or our earlier answer was lost)
                    return
                raise

        call(go, f"delete job {job_id}")

    # ------------------------------------------------------------ identity
    def current_user(self) -> dict[str, str]:
        """The token's user (SCIM ``Me``) in the SCIM field names: ``userName``, ``displayName``, ``id``."""
        me = call(lambda: self.w.current_user.me(), "get the current user")
        return {k: v for k, v in (("userName", me.user_name), ("displayName", me.display_name), ("id", me.id))
                if v is not None}

    # ------------------------------------------------------------ permissions
    def get_permissions(self, job_id: int) -> list[dict[str, str]]:
        from ...core.job_permissions import direct

        doc = call(lambda: self.w.api_client.do("GET", f"/api/2.0/permissions/jobs/{job_id}"),
                   f"get permissions of job {job_id}")
        return direct(doc or {})

    def set_permissions(self, job_id: int, acl: list[dict[str, str]]) -> None:
        # PUT replaces the direct permissions as a whole: idempotent, so retried like a read
        call(lambda: self.w.api_client.do("PUT", f"/api/2.0/permissions/jobs/{job_id}",
                                          body={"access_control_list": acl}),
             f"set permissions of job {job_id}")

    # ------------------------------------------------------------ runs
    def run_now(self, job_id: int, job_parameters: dict[str, str] | None = None) -> int:
        body: dict[str, Any] = {"job_id": job_id, "idempotency_token": uuid.uuid4().hex}
        if job_parameters:
            body["job_parameters"] = dict(job_parameters)
        return int(self._do("POST", "/run-now", f"run job {job_id}", body=body)["run_id"])

    def submit(self, run_name: str, tasks: list[dict[str, Any]]) -> int:
        body = {"run_name": run_name, "tasks": tasks, "idempotency_token": uuid.uuid4().hex}
        return int(self._do("POST", "/runs/submit", f"submit run {run_name!r}", body=body)["run_id"])

    def cancel_run(self, run_id: int) -> None:
        self._do("POST", "/runs/cancel", f"cancel run {run_id}", body={"run_id": run_id})

    def get_run(self, run_id: int) -> Run:
        doc = self._do("GET", "/runs/get", f"get run {run_id}", query={"run_id": run_id})
        state = doc.get("state") or {}
        life = state.get("life_cycle_state") or "PENDING"
        run = Run(run_id=int(doc.get("run_id", run_id)), job_id=doc.get("job_id"), state=life,
                  result_state=state.get("result_state"), run_page_url=doc.get("run_page_url"))
        for t in doc.get("tasks") or []:
            ts = t.get("state") or {}
            run.tasks.append(TaskRun(task_key=t.get("task_key", ""), state=ts.get("life_cycle_state") or "PENDING",
                                     result_state=ts.get("result_state"), run_id=t.get("run_id"),
                                     error=ts.get("state_message") or None))
        if life in TERMINAL:
            for task in run.tasks:
                if task.run_id and task.state == "TERMINATED" and task.result_state not in ("UPSTREAM_FAILED",
                                                                                            "CANCELED"):
                    self._fill_output(task)
        return run

    def _fill_output(self, task: TaskRun) -> None:
        try:
            out = self._do("GET", "/runs/get-output", f"get output of task {task.task_key}",
                           query={"run_id": task.run_id})
        except ServiceError:
            return  # the output is a bonus; the state is what matters
        task.error = out.get("error") or task.error
        task.error_trace = out.get("error_trace")
        nb = out.get("notebook_output") or {}
        task.notebook_output = nb.get("result")


def from_context(ctx: Any) -> DatabricksJobs:
    return DatabricksJobs(client_for(ctx), ctx.target.host)


__all__ = ["DatabricksJobs", "from_context", "translate"]
