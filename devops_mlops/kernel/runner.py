"""Run notebooks as tests in fresh local Jupyter kernels, with Databricks' runtime emulated.

Stable API (other modules build on it: ``mlops test``, local ``mlops run`` of jobs,
the lifecycle)::

    run_notebook(path, *, params=None, job_params=None, task_key=None,
                 task_values_file=None, timeout=None, cwd=None, env=None) -> NotebookResult
    run_many(paths, *, jobs, **same_keywords) -> list[NotebookResult]   # input order

- ``params``: widget values (``--param``); they win over ``job_params`` (the job's
  parameters), which win over each widget's default. In an .ipynb the cell tagged
  ``parameters`` (papermill) is followed by the assignment of these values.
- ``task_key`` / ``task_values_file``: the tasks of one local job run share one JSON
  file ``{task_key: {key: value}}``; ``dbutils.jobs.taskValues.set`` writes under this
  ``task_key``, ``taskValues.get(taskKey, key, default, debugValue)`` reads any task's.
  Without a file, ``get`` returns ``debugValue`` (as on Databricks outside a job).
- ``timeout``: seconds for the whole notebook; its kernel (process group) is killed
  and the status is ``timeout``.
- ``cwd``: the kernel's working directory (default: the notebook's folder).
- ``env``: extra environment variables for the kernel (e.g. ``MLOPS_SECRET_<SCOPE>__<KEY>``,
  ``MLOPS_DBFS_ROOT``, ``MLFLOW_TRACKING_URI``). With ``MLOPS_SPARK_REMOTE`` (the local
  Spark engine's :func:`~devops_mlops.kernel.spark.kernel_env`) the kernel's
  ``spark`` is a client of that engine and ``%sql`` cells run through ``spark.sql``;
  without it they are skipped and reported.
- ``python``: the kernel's interpreter, for an isolated runtime (the Databricks emulator's
  clusters): neither this checkout nor ``PYTHONPATH`` reaches the kernel, and the stdlib-only
  shim package is loaded from its folder, so only what that interpreter has installed is importable.

Never raises for a notebook problem: the :class:`NotebookResult` says
``status`` = ``passed`` | ``failed`` | ``timeout`` | ``error`` (``error``: the
notebook could not be read). Each notebook gets its own kernel, killed at the end
(also on Ctrl-C); nothing is reused across notebooks, unless a kernel pool is active
(:mod:`devops_mlops.kernel.pool`: kernels started ahead, handed on only after a pass).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

from .. import console
from ..errors import InputError
from .kernels import kernel_env
from .plan import PlanError, expand
from .pool import active, inherited_environ
from .results import NotebookResult, TestResult
from .session import Session
from .spark import REMOTE_ENV

__all__ = ["NotebookResult", "TestResult", "run_many", "run_many_async", "run_notebook", "run_notebook_async",
           "run_sync"]

T = TypeVar("T")


def run_notebook(
    path: str | Path,
    *,
    params: dict[str, str] | None = None,
    job_params: dict[str, str] | None = None,
    task_key: str | None = None,
    task_values_file: str | Path | None = None,
    timeout: float | None = None,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
    python: str | None = None,
) -> NotebookResult:
    """Run one notebook in a fresh kernel; see the module docstring."""
    kwargs = dict(params=params, job_params=job_params, task_key=task_key, task_values_file=task_values_file,
                  timeout=timeout, cwd=cwd, env=env, python=python)
    return run_sync(run_notebook_async(path, **kwargs))


def run_many(paths: Iterable[str | Path], *, jobs: int | None = None, **kwargs: Any) -> list[NotebookResult]:
    """Run notebooks in parallel (``jobs`` kernels at a time); results in the order of ``paths``."""
    return run_sync(run_many_async(list(paths), jobs=jobs, **kwargs))


async def run_many_async(paths: list[str | Path], *, jobs: int | None = None,
                         on_result: Callable[[NotebookResult], None] | None = None,
                         **kwargs: Any) -> list[NotebookResult]:
    """:func:`run_many` inside an event loop; ``on_result`` is called as each notebook ends."""
    jobs = max(1, jobs or os.cpu_count() or 1)
    sem = asyncio.Semaphore(jobs)

    async def one(p):
        async with sem:
            result = await run_notebook_async(p, **kwargs)
        if on_result is not None:
            on_result(result)
        return result

    return list(await asyncio.gather(*(one(p) for p in paths)))


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine of the runner to its end: on the active pool's loop (its kernels belong to
    it), else in a loop of its own (in a thread of its own when called from inside a loop)."""
    pool = active()
    if pool is not None:
        return pool.submit(coro)  # its kernels belong to its loop
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # called from inside an event loop: run in a thread of its own
    box: dict = {}

    def target():
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # pragma: no cover - re-raised below
            box["error"] = exc

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _mask_secrets(env: dict[str, str]) -> None:
    """The kernel's secrets (MLOPS_SECRET_* values) are masked in everything this process prints."""
    for name, value in env.items():
        if name.startswith("MLOPS_SECRET_"):
            console.register_secret(value)


async def run_notebook_async(
    path: str | Path,
    *,
    params: dict[str, str] | None = None,
    job_params: dict[str, str] | None = None,
    task_key: str | None = None,
    task_values_file: str | Path | None = None,
    timeout: float | None = None,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
    python: str | None = None,
) -> NotebookResult:
    """:func:`run_notebook` inside an event loop."""
    start = time.perf_counter()
    shown = str(path)
    result = NotebookResult(path=shown, status="passed")
    # an isolated interpreter starts from this process's environment as it is, a local kernel from what
    # the pool hands on
    environ = kernel_env(env, os.environ if python else inherited_environ(), isolated=python is not None)
    try:
        plan = expand(path, sql=bool(environ.get(REMOTE_ENV)))
    except InputError as exc:
        result.status, result.error = "error", exc.message
        result.line = exc.line
        result.duration = time.perf_counter() - start
        return result
    except PlanError as exc:
        result.status, result.error = "failed", exc.message
        result.cell, result.line, result.error_path = exc.cell, exc.line, str(exc.path)
        result.duration = time.perf_counter() - start
        return result
    result.skipped_cells = [s.to_json() for s in plan.skipped]
    _mask_secrets(environ)
    state_dir = Path(tempfile.mkdtemp(prefix="mlops-nb-"))
    try:
        workdir = Path(cwd).resolve() if cwd else plan.path.parent
        config = {
            "notebook": str(plan.path),
            "params": {str(k): str(v) for k, v in (params or {}).items()},
            "job_params": {str(k): str(v) for k, v in (job_params or {}).items()},
            "task_key": task_key,
            "task_values_file": str(Path(task_values_file).resolve()) if task_values_file else None,
            "state_dir": str(state_dir),
            "dbfs_root": environ.get("MLOPS_DBFS_ROOT"),
            "cwd": str(workdir),
            "units": [u.to_json() for u in plan.units],
        }
        (state_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
        session = Session(plan, state_dir, workdir, environ, result, python)
        task = asyncio.ensure_future(session.run())
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout or None)
            if done:
                task.result()
            else:
                # nbclient reports a cancelled cell as a dead kernel: say it is ours first
                session.timed_out = True
                session.kill()
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
                result.status = "timeout"
                unit = session.current
                result.error = f"timed out after {timeout:g}s" + (f" in cell {unit.cell}" if unit else "")
                if unit is not None:
                    result.cell, result.line, result.error_path = unit.cell, unit.line, str(unit.path)
        except BaseException:
            task.cancel()
            raise
        finally:
            await session.stop()
        _collect_state(result, state_dir)
        _redact(result, environ)
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    result.duration = time.perf_counter() - start
    return result


def _redact(result: NotebookResult, env: dict[str, str]) -> None:
    """Secrets (MLOPS_SECRET_* values) never leave the run: [REDACTED] in every text field."""
    secrets = sorted((v for k, v in env.items() if k.startswith("MLOPS_SECRET_") and v), key=len, reverse=True)
    if not secrets:
        return

    def red(text):
        if isinstance(text, str):
            for s in secrets:
                text = text.replace(s, "[REDACTED]")
        return text

    for name in ("error", "traceback", "output", "exit_value"):
        setattr(result, name, red(getattr(result, name)))
    for t in result.tests:
        t.error, t.traceback = red(t.error), red(t.traceback)


def _collect_state(result: NotebookResult, state_dir: Path) -> None:
    """The task values and test results the shim wrote; a failed test fails the notebook."""
    values = state_dir / "task_values.json"
    if values.exists():
        result.task_values = json.loads(values.read_text(encoding="utf-8"))
    tests = state_dir / "tests.json"
    if tests.exists():
        result.tests = [TestResult(**{k: v for k, v in t.items() if k in TestResult.__dataclass_fields__})
                        for t in json.loads(tests.read_text(encoding="utf-8"))]
        failed = [t.name for t in result.tests if t.status != "passed"]
        if failed and result.status == "passed":
            result.status = "failed"
            result.error = f"test function{'s' if len(failed) > 1 else ''} failed: {', '.join(failed)}"
