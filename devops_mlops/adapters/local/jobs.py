"""Jobs port on this machine: job settings kept in ``.mlops/jobs/<target>/jobs.json``, runs
executed here, in dependency order, each notebook in a fresh Jupyter kernel
(:func:`devops_mlops.kernel.runner.run_notebook`, as ``mlops test`` does).

``run_now`` and ``submit`` run the whole job before they return (there is no service to
keep it going after this process ends); ``get_run`` then reads the stored result from
``.mlops/jobs/<target>/runs/<run_id>.json``. Parameters: the job's ``parameters``
(overridden by ``run_now``'s) reach every notebook as job parameters, each task's
``base_parameters`` as its widgets; task values pass between tasks through one file per run.
A task's ``notebook_path`` is a path in the local workspace (where ``mlops sync`` put it),
or an existing file on this machine. Task order, ``run_if`` and the run's result follow
:mod:`devops_mlops.core.jobgraph`, as on Databricks.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ...core.jobgraph import RUN, JobGraph, JobGraphError
from ...errors import ServiceError
from ...ports.jobs import Job, Run, TaskRun
from .workspace import LocalWorkspace, workspace_root

_LOCK = threading.RLock()


def _write_json(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, path)


def _local_owner() -> str:
    from .git import local_user

    return local_user()["userName"]


class LocalJobs:
    def __init__(self, folder: str | Path, workspace: LocalWorkspace | None = None,
                 runner: Callable[..., Any] | None = None, env: dict[str, str] | None = None,
                 engine_env: Callable[[], dict[str, str]] | None = None):
        self.folder = Path(folder)
        self.workspace = workspace
        self._runner = runner
        self.env = env
        #: the kernels' share of the target's engine (the local Spark engine), asked for when a task runs
        self.engine_env = engine_env
        self.on_task: Callable[[str, str], None] | None = None  # progress hook: (task_key, state)

    # ------------------------------------------------------------ storage
    @property
    def _file(self) -> Path:
        return self.folder / "jobs.json"

    def _load(self) -> dict:
        try:
            return json.loads(self._file.read_text())
        except FileNotFoundError:
            return {"next_job_id": 1, "next_run_id": 1, "jobs": {}}
        except ValueError:
            raise ServiceError(f"{self._file} is not valid JSON", hint="delete it and run `mlops deploy` again") from None

    def _save(self, doc: dict) -> None:
        _write_json(self._file, doc)

    # ------------------------------------------------------------ jobs
    def list(self) -> list[Job]:
        with _LOCK:
            return [Job(int(k), copy.deepcopy(v)) for k, v in sorted(self._load()["jobs"].items(), key=lambda kv: int(kv[0]))]

    def get(self, job_id: int) -> Job | None:
        with _LOCK:
            settings = self._load()["jobs"].get(str(job_id))
        return Job(int(job_id), settings) if settings is not None else None

    def create(self, settings: dict[str, Any]) -> int:
        with _LOCK:
            doc = self._load()
            job_id = doc["next_job_id"]
            doc["next_job_id"] += 1
            doc["jobs"][str(job_id)] = copy.deepcopy(settings)
            self._save(doc)
        return job_id

    def reset(self, job_id: int, settings: dict[str, Any]) -> None:
        with _LOCK:
            doc = self._load()
            if str(job_id) not in doc["jobs"]:
                raise ServiceError(f"reset job {job_id}: not found")
            doc["jobs"][str(job_id)] = copy.deepcopy(settings)
            self._save(doc)

    def delete(self, job_id: int) -> None:
        with _LOCK:
            doc = self._load()
            if doc["jobs"].pop(str(job_id), None) is not None:
                (doc.get("permissions") or {}).pop(str(job_id), None)
                self._save(doc)

    # ------------------------------------------------------------ identity
    def current_user(self) -> dict[str, str]:
        from .git import local_user

        return local_user()

    # ------------------------------------------------------------ permissions
    def get_permissions(self, job_id: int) -> list[dict[str, str]]:
        """The embedded default keeps a job's ACL beside it; its creator (the local user) owns it."""
        with _LOCK:
            doc = self._load()
        if str(job_id) not in doc["jobs"]:
            raise ServiceError(f"permissions of job {job_id}: not found")
        acl = (doc.get("permissions") or {}).get(str(job_id))
        return copy.deepcopy(acl) if acl is not None else [{"user_name": _local_owner(), "permission_level": "IS_OWNER"}]

    def set_permissions(self, job_id: int, acl: list[dict[str, str]]) -> None:
        with _LOCK:
            doc = self._load()
            if str(job_id) not in doc["jobs"]:
                raise ServiceError(f"set permissions of job {job_id}: not found")
            if sum(e.get("permission_level") == "IS_OWNER" for e in acl) != 1:
                raise ServiceError(f"set permissions of job {job_id}: a job has exactly one IS_OWNER")
            doc.setdefault("permissions", {})[str(job_id)] = copy.deepcopy(acl)
            self._save(doc)

    # ------------------------------------------------------------ runs
    def _new_run_id(self) -> int:
        with _LOCK:
            doc = self._load()
            run_id = doc["next_run_id"]
            doc["next_run_id"] += 1
            self._save(doc)
        return run_id

    def _run_file(self, run_id: int) -> Path:
        return self.folder / "runs" / f"{run_id}.json"

    def run_now(self, job_id: int, job_parameters: dict[str, str] | None = None) -> int:
        job = self.get(job_id)
        if job is None:
            raise ServiceError(f"run job {job_id}: not found", hint="run `mlops deploy` first")
        params = {p["name"]: str(p.get("default", "")) for p in job.settings.get("parameters", [])}
        params.update(job_parameters or {})
        return self._execute(job_id, job.settings.get("tasks", []), params)

    def submit(self, run_name: str, tasks: list[dict[str, Any]]) -> int:
        return self._execute(None, tasks, {})

    def cancel_run(self, run_id: int) -> None:
        return None  # runs finish before run_now/submit return

    def get_run(self, run_id: int) -> Run:
        try:
            doc = json.loads(self._run_file(run_id).read_text())
        except FileNotFoundError:
            raise ServiceError(f"run {run_id}: not found") from None
        tasks = [TaskRun(**t) for t in doc.pop("tasks")]
        return Run(tasks=tasks, **doc)

    def _store(self, run: Run) -> None:
        _write_json(self._run_file(run.run_id), asdict(run))

    def _notebook_file(self, notebook_path: str) -> Path | None:
        if self.workspace is not None:
            found = self.workspace.resolve(notebook_path)
            if found is not None and found[1].object_type == "NOTEBOOK":
                return found[0]
        p = Path(notebook_path)
        if p.is_absolute() and p.is_file():
            return p
        return None

    def _execute(self, job_id: int | None, tasks: list[dict[str, Any]], job_params: dict[str, str]) -> int:
        try:
            graph = JobGraph.of(tasks)
        except JobGraphError as exc:
            raise ServiceError(str(exc)) from None
        run_id = self._new_run_id()
        by_key = {t["task_key"]: t for t in tasks}
        run = Run(run_id, job_id, "RUNNING", tasks=[TaskRun(t["task_key"], "PENDING") for t in tasks],
                  run_page_url=str(self._run_file(run_id)))
        self._store(run)
        states = {tr.task_key: tr for tr in run.tasks}
        values_file = self.folder / "runs" / f"{run_id}.task_values.json"
        outcomes: dict[str, str] = {}
        for key in graph.order():
            task, tr = by_key[key], states[key]
            verdict = graph.decide(key, outcomes)
            if verdict != RUN:  # skipped: its dependencies ended in a way its run_if does not run after
                tr.state, tr.result_state = "TERMINATED", verdict
                outcomes[key] = verdict
                self._notify(key, verdict)
                continue
            tr.state = "RUNNING"
            self._store(run)
            self._notify(key, "RUNNING")
            self._run_task(task, tr, job_params, values_file)
            outcomes[key] = tr.result_state or "FAILED"
            self._notify(key, tr.result_state or "")
        run.state = "TERMINATED"
        run.result_state = graph.result(outcomes)
        self._store(run)
        return run_id

    def _notify(self, key: str, state: str) -> None:
        if self.on_task is not None:
            self.on_task(key, state)

    def _run_task(self, task: dict, tr: TaskRun, job_params: dict[str, str], values_file: Path) -> None:
        tr.state = "TERMINATED"
        nt = task.get("notebook_task")
        if nt is None:
            tr.result_state, tr.error = "FAILED", "only notebook tasks run on the local backend"
            return
        path = self._notebook_file(nt.get("notebook_path", ""))
        if path is None:
            tr.result_state = "FAILED"
            tr.error = f"notebook {nt.get('notebook_path')} is not in the local workspace (run `mlops sync` first)"
            return
        runner = self._runner
        if runner is None:
            try:
                from ...kernel.runner import run_notebook as runner
            except ImportError as exc:  # pragma: no cover - the runtime ships with mlops
                tr.result_state, tr.error = "FAILED", f"the local notebook runner is not available: {exc}"
                return
        started = time.monotonic()
        env = {**(self.env or {}), **(self.engine_env() if self.engine_env else {})} or None
        result = runner(path, params=nt.get("base_parameters") or None, job_params=job_params or None,
                        task_key=tr.task_key, task_values_file=values_file,
                        timeout=task.get("timeout_seconds") or None, env=env)
        tr.notebook_output = result.exit_value
        if result.status == "passed":
            tr.result_state = "SUCCESS"
            return
        tr.result_state = "TIMEDOUT" if result.status == "timeout" else "FAILED"
        where = f" (cell {result.cell}, line {result.line})" if result.cell else ""
        tr.error = (result.error or result.status) + where
        tr.error_trace = result.traceback or result.output or None
        if result.status == "timeout":
            tr.error = f"timed out after {time.monotonic() - started:.0f}s" + where


def from_context(ctx: Any) -> LocalJobs:
    from ...kernel.entry_points import kernel_env
    from ...kernel.spark import kernel_env as engine_env

    ws_root = workspace_root(ctx)
    # the project's own package (python_path) is importable in every task's kernel, which shares
    # the target's engine (the local Spark engine) when it has one
    return LocalJobs(ctx.state_dir / "jobs" / ctx.target.name, LocalWorkspace(ws_root), env=kernel_env(ctx.config) or None,
                     engine_env=lambda: engine_env(ctx))
