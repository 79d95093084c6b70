"""Jobs port: job definitions deployed on the target and their runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Job:
    job_id: int
    settings: dict[str, Any]  # the Jobs API 2.1 JobSettings shape


@dataclass
class TaskRun:
    task_key: str
    state: str  # PENDING | RUNNING | TERMINATED | SKIPPED | INTERNAL_ERROR
    result_state: str | None = None  # SUCCESS | FAILED | TIMEDOUT | CANCELED
    error: str | None = None
    error_trace: str | None = None
    notebook_output: str | None = None  # dbutils.notebook.exit value
    run_id: int | None = None


@dataclass
class Run:
    run_id: int
    job_id: int | None
    state: str
    result_state: str | None = None
    tasks: list[TaskRun] = field(default_factory=list)
    run_page_url: str | None = None


class Jobs(Protocol):
    def list(self) -> list[Job]: ...

    def get(self, job_id: int) -> Job | None: ...

    def create(self, settings: dict[str, Any]) -> int: ...

    def reset(self, job_id: int, settings: dict[str, Any]) -> None: ...

    def delete(self, job_id: int) -> None: ...

    def current_user(self) -> dict[str, str]:
        """Who the calls are made as: ``userName``, ``displayName``, ``id`` (the SCIM ``Me`` fields)."""
        ...

    def get_permissions(self, job_id: int) -> list[dict[str, str]]:
        """The job's direct ACL entries ``[{<principal>: name, "permission_level": LEVEL}]``."""
        ...

    def set_permissions(self, job_id: int, acl: list[dict[str, str]]) -> None:
        """Replace the job's direct ACL with ``acl`` (which holds exactly one IS_OWNER)."""
        ...

    def run_now(self, job_id: int, job_parameters: dict[str, str] | None = None) -> int: ...

    def get_run(self, run_id: int) -> Run: ...

    def submit(self, run_name: str, tasks: list[dict[str, Any]]) -> int:
        """A one-time run (runs/submit)."""

    def cancel_run(self, run_id: int) -> None: ...
