"""`mlops run JOB_KEY`: run a deployed job now, wait, report each task.

On failure the failing tasks' errors and notebook output (``runs/get-output``) are part of
the result and the command exits 1. The local backend runs the tasks on this machine before
``run_now`` returns; the Databricks backend is polled with a growing interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.params import parse_params  # noqa: F401 - re-exported for the CLI
from ..errors import CheckFailed, UsageError
from ..ports.jobs import Run
from .deploy import _owned

TERMINAL = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")


@dataclass
class RunResult:
    key: str
    job_id: int
    run_id: int
    waited: bool
    run: Run | None = None
    timed_out: bool = False
    params: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.run is not None and self.run.result_state == "SUCCESS"

    @property
    def failed_tasks(self) -> list[Any]:
        if self.run is None:
            return []
        # an EXCLUDED task did not need to run (its run_if handles failures that did not happen)
        return [t for t in self.run.tasks if t.result_state not in (None, "SUCCESS", "EXCLUDED")]

    def to_json(self) -> dict:
        doc: dict[str, Any] = {"job": self.key, "job_id": self.job_id, "run_id": self.run_id,
                               "parameters": self.params, "waited": self.waited}
        if self.run is not None:
            doc.update(state=self.run.state, result_state=self.run.result_state, url=self.run.run_page_url,
                       timed_out=self.timed_out,
                       tasks=[{"task_key": t.task_key, "state": t.state, "result_state": t.result_state,
                               "error": t.error, "error_trace": t.error_trace, "output": t.notebook_output}
                              for t in self.run.tasks])
        return doc


def wait_for(jobs, run_id: int, *, timeout: float | None, on_change: Callable[[Run], None] | None = None,
             first_interval: float = 0.5, max_interval: float = 10.0) -> tuple[Run, bool]:
    """Poll until the run ends (or ``timeout`` seconds pass: the run is cancelled)."""
    started = time.monotonic()
    interval = first_interval
    seen: dict[str, tuple] = {}
    while True:
        run = jobs.get_run(run_id)
        states = {t.task_key: (t.state, t.result_state) for t in run.tasks}
        if states != seen and on_change is not None:
            on_change(run)
        seen = states
        if run.state in TERMINAL:
            return run, False
        if timeout is not None and time.monotonic() - started >= timeout:
            jobs.cancel_run(run_id)
            return jobs.get_run(run_id), True
        time.sleep(interval)
        interval = min(max_interval, interval * 1.5)


def resolve_jobs(ctx, keys: list[str]) -> dict[str, int]:
    """The deployed job id of each key (one list of the target's jobs), checked before anything runs.
    A key no job definition names: exit 2 listing the defined ones; defined but not deployed: exit 2 too."""
    owned = _owned(ctx.config.project, ctx.jobs)
    missing = [k for k in dict.fromkeys(keys) if not owned.get(k)]
    if missing:
        from ..core.deploy_plan import select_jobs
        from .deploy import load_definitions

        defined = load_definitions(ctx).jobs
        select_jobs({**defined, **owned}, missing)  # UsageError naming the known keys
        raise UsageError(f"no job {', '.join(repr(k) for k in missing)} of project {ctx.config.project} is deployed "
                         f"on target {ctx.target.name}", hint="run `mlops deploy` first")
    return {k: owned[k][0] for k in keys}


def run_job(ctx, key: str, *, params: dict[str, str] | None = None, wait: bool = True,
            timeout: float | None = None, poll_interval: float = 0.5, job_id: int | None = None) -> RunResult:
    """Run the job ``key`` (``job_id``: already looked up by :func:`resolve_jobs`)."""
    if job_id is None:
        job_id = resolve_jobs(ctx, [key])[key]
    if ctx.dry_run:
        ctx.console.info(f"plan: run job {key} (job {job_id}) with {params or {}}")
        return RunResult(key, job_id, 0, False, params=params or {})
    jobs = ctx.jobs
    printed: dict[str, str] = {}

    def show(run: Run) -> None:
        for t in run.tasks:
            label = t.result_state or t.state
            if printed.get(t.task_key) != label:
                printed[t.task_key] = label
                ctx.console.progress(f"  {t.task_key}: {label}")

    if hasattr(jobs, "on_task"):  # the local backend reports tasks as they run
        jobs.on_task = lambda task_key, state: ctx.console.progress(f"  {task_key}: {state}")
    run_id = jobs.run_now(job_id, params or None)
    ctx.console.progress(f"run {run_id} of job {key} (job {job_id}) started")
    result = RunResult(key, job_id, run_id, wait, params=params or {})
    if not wait:
        result.run = jobs.get_run(run_id)
        return result
    result.run, result.timed_out = wait_for(jobs, run_id, timeout=timeout, on_change=show,
                                            first_interval=poll_interval)
    return result


def check(result: RunResult) -> None:
    """Exit 1 (CheckFailed) when the run failed or timed out."""
    if not result.waited or result.ok:
        return
    if result.timed_out:
        raise CheckFailed(f"run {result.run_id} of job {result.key} did not finish in time and was cancelled")
    failed = [t for t in result.failed_tasks if t.result_state != "UPSTREAM_FAILED"] or result.failed_tasks
    first = failed[0] if failed else None
    detail = f": task {first.task_key} {first.result_state}: {first.error or ''}".rstrip(": ") if first else ""
    raise CheckFailed(f"run {result.run_id} of job {result.key} {result.run.result_state if result.run else 'failed'}"
                      + detail)
