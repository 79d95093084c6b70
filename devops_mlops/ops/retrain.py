"""How the retrain loop runs one try: the retrain notebook, wherever the target runs notebooks.

- ``JobRetrainer`` (databricks targets): runs the deployed ``retrain`` job
  (``resources/retrain.yml``) with ``attempt`` / ``eval_batch`` job parameters
  through the jobs port, waits, and reads the notebook's exit value.
- ``NotebookRetrainer`` (local): runs ``monitoring.retrain_notebook`` in a fresh
  local kernel (the runtime ``mlops test`` uses).
- ``InProcessRetrainer``: calls the project's own function the notebook calls
  (``entry_points.retrain`` in mlops.yaml) in this process; the same training,
  without a kernel start (tests, and projects with no retrain notebook).

Each returns the notebook's result: ``run_id``, ``model_uri``, ``metrics``,
``train_batches``, ``eval_batch``, ``window``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import CheckFailed, ConfigError

if TYPE_CHECKING:
    from ..context import Context

RETRAIN_JOB_KEY = "retrain"


class Retrainer(Protocol):
    """Runs one retrain try on the evaluation batch; the retrain result (see the module docstring)."""

    name: str

    def run(self, ctx: Context, attempt: int, eval_batch: int) -> dict[str, Any]: ...


def _params(ctx: Context, attempt: int, eval_batch: int) -> dict[str, str]:
    return {"target": ctx.target.name, "attempt": str(attempt), "eval_batch": str(eval_batch)}


def _parse(output: str | None, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(output or "")
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or "run_id" not in doc or "metrics" not in doc:
        raise CheckFailed(f"{where} did not exit with the retrain result (run_id, metrics): {str(output)[:200]!r}")
    return doc


class InProcessRetrainer:
    """The project's ``entry_points.retrain`` called in this process with a session."""

    name = "in-process"

    def run(self, ctx: Context, attempt: int, eval_batch: int) -> dict[str, Any]:
        from ..kernel.entry_points import call
        from .session import Session

        return call(ctx.config, "retrain", Session(ctx), attempt, eval_batch)


class NotebookRetrainer:
    """The retrain notebook in a fresh local kernel."""

    name = "notebook"

    def __init__(self, path: Path, timeout: float | None = 1800):
        self.path = path
        self.timeout = timeout

    def run(self, ctx: Context, attempt: int, eval_batch: int) -> dict[str, Any]:
        from ..kernel.spark import kernel_env as engine_env
        from ..kernel.entry_points import kernel_env
        from ..kernel.runner import run_notebook

        result = run_notebook(
            self.path,
            params=_params(ctx, attempt, eval_batch),
            timeout=self.timeout,
            env={"MLOPS_CONFIG": str(ctx.config.path), **kernel_env(ctx.config), **engine_env(ctx)},
        )
        if result.status != "passed":
            where = f" (cell {result.cell}, line {result.line})" if getattr(result, "cell", None) else ""
            raise CheckFailed(f"retrain notebook {self.path.name} {result.status}: {result.error}{where}")
        return _parse(result.exit_value, f"retrain notebook {self.path.name}")


class JobRetrainer:
    """The deployed ``retrain`` job, run through the jobs port and waited for."""

    name = "job"

    def __init__(self, timeout: float | None = 3600):
        self.timeout = timeout

    def run(self, ctx: Context, attempt: int, eval_batch: int) -> dict[str, Any]:
        from .deploy import find_job
        from .run import wait_for

        job_id = find_job(ctx, RETRAIN_JOB_KEY)
        if job_id is None:
            raise CheckFailed(
                f"no deployed job {RETRAIN_JOB_KEY!r} on target {ctx.target.name}", hint="run `mlops deploy` first"
            )
        run_id = ctx.jobs.run_now(int(job_id), _params(ctx, attempt, eval_batch))
        run, timed_out = wait_for(ctx.jobs, run_id, timeout=self.timeout)
        if timed_out:
            raise CheckFailed(f"retrain job run {run_id} timed out after {self.timeout:.0f}s (cancelled)")
        task = next((t for t in run.tasks if t.task_key == RETRAIN_JOB_KEY), run.tasks[0] if run.tasks else None)
        if run.result_state != "SUCCESS" or task is None:
            error = task.error if task is not None else run.result_state
            raise CheckFailed(f"retrain job run {run_id} {run.result_state}: {error}")
        output = task.notebook_output
        if output is None and task.run_id is not None and hasattr(ctx.jobs, "get_output"):
            output = ctx.jobs.get_output(task.run_id)
        return _parse(output, f"retrain job run {run_id}")


def retrainer_for(ctx: Context, mode: str = "auto") -> Retrainer:
    """``auto``: the retrain job on a databricks target; locally the retrain notebook in a kernel
    (``monitoring.retrain_notebook``), else in process (``entry_points.retrain``)."""
    if mode == "in-process":
        return InProcessRetrainer()
    if mode == "job" or (mode == "auto" and ctx.target.backend == "databricks"):
        return JobRetrainer()
    rel = ctx.config.monitoring.retrain_notebook
    if rel:
        path = (ctx.root / rel).resolve()
        if not path.is_file():
            raise ConfigError(f"monitoring.retrain_notebook: no file {rel}", path=ctx.config.path)
        return NotebookRetrainer(path)
    if mode == "notebook":
        raise ConfigError("monitoring.retrain_notebook is not set", path=ctx.config.path)
    return InProcessRetrainer()
