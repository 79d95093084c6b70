"""An in-memory jobs service: the jobs port (devops_mlops/ports/jobs.py) kept in plain Python,
passing the same contract suite as the local and Databricks adapters (tests/contract/).

Jobs are settings by id (their tags included). A run ends when it starts, as the local adapter's
do: its tasks go in the order and under the ``run_if`` rules of :mod:`devops_mlops.core.jobgraph`,
and each task that runs ends as the test scripted it with :meth:`FakeJobs.set_outcome` (by task
key or notebook path; SUCCESS otherwise). With ``hold = True`` new runs stay RUNNING until
:meth:`FakeJobs.finish` or ``cancel_run``, for tests of waiting and timeouts.

Assertion helpers: ``created`` (the settings of every create, in order), ``jobs`` (id -> settings),
``runs`` (id -> Run), :meth:`FakeJobs.runs_of`, ``parameters`` (run id -> job parameters),
``canceled`` (run ids), ``permissions`` (job id -> ACL once set).
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, replace
from typing import Any

from ...core.jobgraph import RUN, JobGraph, JobGraphError
from ...errors import ServiceError
from ...ports.jobs import Job, Run, TaskRun


@dataclass(frozen=True)
class Outcome:
    """How a task ends when it runs."""

    result: str = "SUCCESS"  # SUCCESS | FAILED | TIMEDOUT
    error: str | None = None
    error_trace: str | None = None
    output: str | None = None  # dbutils.notebook.exit value


class FakeJobs:
    """The jobs port over dicts of settings and runs."""

    def __init__(self, user: str = "ci@example.com") -> None:
        self.user = user
        self.jobs: dict[int, dict[str, Any]] = {}
        self.created: list[dict[str, Any]] = []
        self.runs: dict[int, Run] = {}
        self.parameters: dict[int, dict[str, str]] = {}
        self.canceled: list[int] = []
        self.permissions: dict[int, list[dict[str, str]]] = {}
        self.outcomes: dict[str, Outcome] = {}
        self.hold = False
        self._job_ids = itertools.count(1)
        self._run_ids = itertools.count(100)
        self._tasks: dict[int, list[dict[str, Any]]] = {}

    # ------------------------------------------------------------ helpers for tests
    def set_outcome(self, key: str, result: str = "FAILED", *, error: str | None = None,
                    error_trace: str | None = None, output: str | None = None) -> None:
        """``key``: a task_key or a notebook path; later runs of that task end this way."""
        self.outcomes[key] = Outcome(result, error, error_trace, output)

    def runs_of(self, job_id: int) -> list[Run]:
        """The runs of a job, oldest first."""
        return [replace(r, tasks=[replace(t) for t in r.tasks]) for r in self.runs.values() if r.job_id == job_id]

    def finish(self, run_id: int) -> None:
        """End a held run now, as scripted."""
        run = self._run(run_id)
        if run.state != "TERMINATED":
            self._play(run)

    # ------------------------------------------------------------ jobs
    @staticmethod
    def _graph(tasks: list[dict[str, Any]], what: str) -> JobGraph:
        try:
            return JobGraph.of(tasks)
        except JobGraphError as exc:
            raise ServiceError(f"{what}: {exc}") from None

    def list(self) -> list[Job]:
        return [Job(j, copy.deepcopy(s)) for j, s in sorted(self.jobs.items())]

    def get(self, job_id: int) -> Job | None:
        settings = self.jobs.get(int(job_id))
        return Job(int(job_id), copy.deepcopy(settings)) if settings is not None else None

    def create(self, settings: dict[str, Any]) -> int:
        self._graph(settings.get("tasks") or [], f"create job {settings.get('name')!r}")
        job_id = next(self._job_ids)
        self.jobs[job_id] = copy.deepcopy(settings)
        self.created.append(copy.deepcopy(settings))
        return job_id

    def reset(self, job_id: int, settings: dict[str, Any]) -> None:
        if job_id not in self.jobs:
            raise ServiceError(f"reset job {job_id}: not found")
        self._graph(settings.get("tasks") or [], f"reset job {job_id}")
        self.jobs[job_id] = copy.deepcopy(settings)

    def delete(self, job_id: int) -> None:
        self.jobs.pop(job_id, None)
        self.permissions.pop(job_id, None)

    # ------------------------------------------------------------ identity and permissions
    def current_user(self) -> dict[str, str]:
        return {"userName": self.user, "displayName": self.user.split("@", 1)[0], "id": "1"}

    def get_permissions(self, job_id: int) -> list[dict[str, str]]:
        if job_id not in self.jobs:
            raise ServiceError(f"permissions of job {job_id}: not found")
        acl = self.permissions.get(job_id)
        return copy.deepcopy(acl) if acl is not None else [{"user_name": self.user, "permission_level": "IS_OWNER"}]

    def set_permissions(self, job_id: int, acl: list[dict[str, str]]) -> None:
        if job_id not in self.jobs:
            raise ServiceError(f"set permissions of job {job_id}: not found")
        if sum(e.get("permission_level") == "IS_OWNER" for e in acl) != 1:
            raise ServiceError(f"set permissions of job {job_id}: a job has exactly one IS_OWNER")
        self.permissions[job_id] = copy.deepcopy(acl)

    # ------------------------------------------------------------ runs
    def run_now(self, job_id: int, job_parameters: dict[str, str] | None = None) -> int:
        settings = self.jobs.get(job_id)
        if settings is None:
            raise ServiceError(f"run job {job_id}: not found", hint="run `mlops deploy` first")
        params = {p["name"]: str(p.get("default", "")) for p in settings.get("parameters", [])}
        params.update(job_parameters or {})
        return self._start(job_id, settings.get("tasks") or [], params)

    def submit(self, run_name: str, tasks: list[dict[str, Any]]) -> int:
        return self._start(None, tasks, {})

    def get_run(self, run_id: int) -> Run:
        run = self._run(run_id)
        return replace(run, tasks=[replace(t) for t in run.tasks])

    def cancel_run(self, run_id: int) -> None:
        run = self._run(run_id)
        if run.state == "TERMINATED":
            return
        self.canceled.append(run_id)
        for task in run.tasks:
            task.state, task.result_state = "TERMINATED", "CANCELED"
        run.state, run.result_state = "TERMINATED", "CANCELED"

    def _run(self, run_id: int) -> Run:
        if run_id not in self.runs:
            raise ServiceError(f"run {run_id}: not found")
        return self.runs[run_id]

    def _start(self, job_id: int | None, tasks: list[dict[str, Any]], params: dict[str, str]) -> int:
        self._graph(tasks, f"run of job {job_id}" if job_id is not None else "submit run")
        run_id = next(self._run_ids)
        run = Run(run_id, job_id, "RUNNING", tasks=[TaskRun(t["task_key"], "PENDING", run_id=next(self._run_ids))
                                                    for t in tasks], run_page_url=f"fake://runs/{run_id}")
        self.runs[run_id] = run
        self.parameters[run_id] = params
        self._tasks[run_id] = copy.deepcopy(tasks)
        if not self.hold:
            self._play(run)
        return run_id

    def _play(self, run: Run) -> None:
        tasks = {t["task_key"]: t for t in self._tasks[run.run_id]}
        graph = JobGraph.of(list(tasks.values()))
        states = {t.task_key: t for t in run.tasks}
        outcomes: dict[str, str] = {}
        for key in graph.order():
            task, verdict = states[key], graph.decide(key, outcomes)
            task.state = "TERMINATED"
            if verdict != RUN:
                task.result_state = outcomes[key] = verdict
                continue
            notebook = (tasks[key].get("notebook_task") or {}).get("notebook_path")
            out = self.outcomes.get(key) or (self.outcomes.get(notebook) if notebook else None) or Outcome()
            task.result_state = outcomes[key] = out.result
            task.notebook_output, task.error_trace = out.output, out.error_trace
            task.error = out.error or ("Notebook failed" if out.result in ("FAILED", "TIMEDOUT") else None)
        run.state, run.result_state = "TERMINATED", graph.result(outcomes)
