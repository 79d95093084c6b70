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
  shim is loaded from its file, so only what that interpreter has installed is importable.

Never raises for a notebook problem: the :class:`NotebookResult` says
``status`` = ``passed`` | ``failed`` | ``timeout`` | ``error`` (``error``: the
notebook could not be read). Each notebook gets its own kernel, killed at the end
(also on Ctrl-C); nothing is reused across notebooks, unless a kernel pool is active
(:mod:`devops_mlops.kernel.pool`: kernels started ahead, handed on only after a pass).
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..kernel.spark import REMOTE_ENV as _REMOTE_ENV
from ..errors import InputError
from .plan import Plan, PlanError, Unit, expand

STATUSES = ("passed", "failed", "timeout", "error")
#: kernels alive right now: pid -> kernel manager (killed at exit whatever happens)
_LIVE: dict[int, Any] = {}
_LIVE_LOCK = threading.Lock()
_OUTPUT_LIMIT = 20000
_STARTUP_TIMEOUT = 60


@dataclass
class TestResult:
    __test__ = False  # not a pytest class

    """One ``test_*`` function a notebook defined, called after the notebook's cells."""

    name: str
    status: str  # passed | failed
    path: str | None = None
    cell: int | None = None
    line: int | None = None
    error: str | None = None
    traceback: str | None = None
    duration: float = 0.0


@dataclass
class NotebookResult:
    path: str
    status: str  # passed | failed | timeout | error
    exit_value: str | None = None
    #: one line: "ZeroDivisionError: division by zero", "%run target not found: ./x", ...
    error: str | None = None
    #: where it failed: cell number (1-based, in ``error_path``) and line in that file
    cell: int | None = None
    line: int | None = None
    #: the file holding the failing line (the notebook itself, or a %run target)
    error_path: str | None = None
    #: the user-code traceback (runner frames removed, original file lines)
    traceback: str | None = None
    skipped_cells: list[dict] = field(default_factory=list)
    duration: float = 0.0
    #: dbutils.jobs.taskValues set by this run
    task_values: dict[str, Any] = field(default_factory=dict)
    tests: list[TestResult] = field(default_factory=list)
    #: what the notebook printed (truncated)
    output: str = ""
    kernel_pid: int | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def failed_in_tests(self) -> bool:
        """Cells ran fine, but a test_* function failed."""
        return self.status == "failed" and self.cell is None and any(t.status != "passed" for t in self.tests)

    def to_json(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------ public API


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
    return _run_sync(run_notebook_async(path, **kwargs))


def run_many(paths: Iterable[str | Path], *, jobs: int | None = None, **kwargs: Any) -> list[NotebookResult]:
    """Run notebooks in parallel (``jobs`` kernels at a time); results in the order of ``paths``."""
    return _run_sync(run_many_async(list(paths), jobs=jobs, **kwargs))


async def run_many_async(paths: list[str | Path], *, jobs: int | None = None, on_result=None, **kwargs: Any):
    jobs = max(1, jobs or os.cpu_count() or 1)
    sem = asyncio.Semaphore(jobs)

    async def one(p):
        async with sem:
            result = await run_notebook_async(p, **kwargs)
        if on_result is not None:
            on_result(result)
        return result

    return list(await asyncio.gather(*(one(p) for p in paths)))


def _run_sync(coro):
    from .pool import active

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


# ------------------------------------------------------------------ one notebook


def kill_all_kernels() -> None:
    """Kill every kernel this process started and has not stopped yet (SIGKILL to its process group)."""
    with _LIVE_LOCK:
        pids = list(_LIVE)
        _LIVE.clear()
    for pid in pids:
        _kill_group(pid)


atexit.register(kill_all_kernels)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)  # the kernel is a session leader: this takes its children too
    except (ProcessLookupError, PermissionError, OSError):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _kernel_env(extra: dict[str, str] | None, isolated: bool = False) -> dict[str, str]:
    """The kernel's environment: ours, then ``extra``; a ``PYTHONPATH`` in ``extra`` (the project's
    own package folders) goes first on the path, before the toolkit's and the inherited one.
    ``isolated``: neither the toolkit's folder nor the inherited ``PYTHONPATH`` (see ``python``).
    Inside a kernel pool, what this process's libraries exported meanwhile is left out
    (:func:`~devops_mlops.kernel.pool.inherited_environ`)."""
    from .pool import inherited_environ

    env = dict(os.environ) if isolated else inherited_environ()
    extra = {str(k): str(v) for k, v in (extra or {}).items()}
    if isolated:
        # a fresh machine does not inherit this process's MLflow state: set_experiment/start_run here
        # export MLFLOW_EXPERIMENT_ID/MLFLOW_RUN_ID, which name objects of another tracking store
        env = {k: v for k, v in env.items() if not k.startswith("MLFLOW_")}
        env.pop("PYTHONPATH", None)
        env.pop("VIRTUAL_ENV", None)
        env["PYTHONNOUSERSITE"] = "1"
        if extra.get("PYTHONPATH"):
            env["PYTHONPATH"] = extra.pop("PYTHONPATH")
    else:
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (extra.pop("PYTHONPATH", ""), package_root,
                                                        env.get("PYTHONPATH")) if p)
    env.setdefault("MPLBACKEND", "agg")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def _mask_secrets(env: dict[str, str]) -> None:
    from .. import console

    for name, value in env.items():
        if name.startswith("MLOPS_SECRET_"):
            console.register_secret(value)


def _unit_code(unit: Unit) -> str:
    if unit.kind == "code":
        return unit.source
    if unit.kind == "sql":
        return f"_mlops_shim.run_sql({unit.source!r})"
    if unit.kind == "params":
        return "_mlops_shim.inject_parameters()"
    if unit.kind == "push":
        return f"_mlops_shim.push_params(__import__('json').loads({json.dumps(unit.args)!r}))"
    return "_mlops_shim.pop_params()"


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
    start = time.perf_counter()
    shown = str(path)
    result = NotebookResult(path=shown, status="passed")
    kernel_env = _kernel_env(env, isolated=python is not None)
    try:
        plan = expand(path, sql=bool(kernel_env.get(_REMOTE_ENV)))
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
    _mask_secrets(kernel_env)
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
            "dbfs_root": kernel_env.get("MLOPS_DBFS_ROOT"),
            "cwd": str(workdir),
            "units": [u.to_json() for u in plan.units],
        }
        (state_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
        session = _Session(plan, state_dir, workdir, kernel_env, result, python)
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
        _redact(result, kernel_env)
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


class _Session:
    """One kernel running one plan."""

    def __init__(self, plan: Plan, state_dir: Path, cwd: Path, env: dict[str, str], result: NotebookResult,
                 python: str | None = None):
        self.plan, self.state_dir, self.cwd, self.env, self.result = plan, state_dir, cwd, env, result
        self.python = python
        self.client = None
        self.pool = self.pooled = None
        self.pid: int | None = None
        self.current: Unit | None = None
        self.output: list[str] = []
        self.output_size = 0
        self.timed_out = False

    def kill(self) -> None:
        if self.pid:
            _kill_group(self.pid)

    async def start(self) -> None:
        from .pool import active

        # an isolated interpreter (python=...) always gets a kernel of its own
        self.pool = active() if not self.python else None
        if self.pool is not None:
            self.pooled = await self.pool.acquire(self.env)
            self.client, self.pid = self.pooled.client, self.pooled.pid
        else:
            self.client, self.pid = await _new_kernel(self.state_dir, self.cwd, self.env, python=self.python)
        self.result.kernel_pid = self.pid

    async def execute(self, code: str, index: int):
        import nbformat

        cell = nbformat.v4.new_code_cell(code)
        self.client.nb.cells.append(cell)
        await self.client.async_execute_cell(cell, len(self.client.nb.cells) - 1)
        error = None
        for out in cell.outputs:
            if out.get("output_type") == "stream" and self.output_size < _OUTPUT_LIMIT:
                text = out.get("text", "")
                self.output.append(text)
                self.output_size += len(text)
            elif out.get("output_type") == "error":
                error = out
        return error

    async def run(self) -> None:
        from nbclient.exceptions import DeadKernelError

        await self.start()
        if self.python:  # the toolkit may not be installed there: the shim file alone (stdlib only)
            shim = str(Path(__file__).with_name("shim.py"))
            load = ("import importlib.util as _u, sys as _s\n"
                    f"_spec = _u.spec_from_file_location('_mlops_shim', {shim!r})\n"
                    "_mlops_shim = _s.modules['_mlops_shim'] = _u.module_from_spec(_spec)\n"
                    "_spec.loader.exec_module(_mlops_shim)\n")
        else:
            load = "import devops_mlops.kernel.shim as _mlops_shim\n"
        from .pool import enter_code

        if self.pooled is not None:
            load = enter_code(self.env) + load
        setup = load + f"_mlops_shim.install(get_ipython(), {str(self.state_dir / 'config.json')!r})"
        error = await self.execute(setup, 0)
        if error is not None:
            self._fail(None, f"the runtime could not start in the kernel: {error.get('ename')}: {error.get('evalue')}", error)
            return
        try:
            for index, unit in enumerate(self.plan.units):
                self.current = unit
                error = await self.execute(_unit_code(unit), index)
                if (self.state_dir / "exit.json").exists():
                    data = json.loads((self.state_dir / "exit.json").read_text(encoding="utf-8"))
                    self.result.exit_value = data.get("value")
                    break
                if error is not None:
                    self._fail(unit, None, error)
                    return
            self.current = None
            error = await self.execute("_mlops_shim.run_tests()", len(self.plan.units))
            if error is not None:
                self._fail(None, f"running the test_* functions failed: {error.get('ename')}: {error.get('evalue')}", error)
        except DeadKernelError:
            if self.timed_out:
                return
            unit = self.current
            self.result.status = "failed"
            self.result.error = "the kernel died" + (f" while running cell {unit.cell}" if unit else "")
            if unit:
                self.result.cell, self.result.line, self.result.error_path = unit.cell, unit.line, str(unit.path)
        finally:
            self.result.output = "".join(self.output)[:_OUTPUT_LIMIT]

    def _fail(self, unit: Unit | None, message: str | None, error) -> None:
        from ..core.junit import clean_text

        r = self.result
        r.status = "failed"
        ename, evalue = error.get("ename", "Error"), error.get("evalue", "")
        r.error = message or f"{ename}: {evalue}"
        info_file = self.state_dir / "error.json"
        info = json.loads(info_file.read_text(encoding="utf-8")) if info_file.exists() else None
        if unit is None:
            r.traceback = clean_text("\n".join(error.get("traceback") or []))
            return
        r.cell, r.line, r.error_path = unit.cell, unit.line, str(unit.path)
        if info and info.get("ename") == ename:
            r.traceback = info["traceback"]
            r.error = f"{info['ename']}: {info['evalue']}"
            if info.get("path"):
                r.error_path, r.cell, r.line = info["path"], info["cell"], info["line"]
            return
        # errors before execution (SyntaxError) do not reach the handler: find the line ourselves
        syntax = _syntax_error(unit.source)
        if syntax is not None:
            n = syntax.lineno or 0
            r.line = unit.line_map[n - 1] if 0 < n <= len(unit.line_map) else r.line
            r.error = f"{type(syntax).__name__}: {syntax.msg}"
            r.traceback = f'  File "{unit.path}", line {r.line} (cell {unit.cell})\n    {(syntax.text or "").strip()}\n{r.error}'
            return
        r.traceback = clean_text("\n".join(error.get("traceback") or [])) or r.error

    async def stop(self) -> None:
        if self.pooled is not None:
            # a kernel is handed on only after a notebook that passed (docs/test.md)
            clean = self.result.status == "passed" and not self.timed_out and self.result.status != "timeout"
            await self.pool.release(self.pooled, clean)
        elif self.client is not None:
            await _stop_kernel(self.client, self.pid)


async def _new_kernel(folder: Path, cwd: Path, env: dict[str, str], python: str | None = None):
    """A started kernel (its sockets and connection file in ``folder``) and its client; (client, pid).
    ``python``: the interpreter of an isolated runtime (a kernel spec of its own in ``folder``)."""
    import nbformat
    from nbclient import NotebookClient

    client = NotebookClient(nbformat.v4.new_notebook(), timeout=None, allow_errors=True,
                            kernel_name="mlops-isolated" if python else "python3",
                            startup_timeout=_STARTUP_TIMEOUT, shutdown_kernel="immediate")
    client.create_kernel_manager()
    if python:
        from jupyter_client.kernelspec import KernelSpecManager

        spec_dir = folder / "kernels" / "mlops-isolated"
        spec_dir.mkdir(parents=True)
        argv = [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        (spec_dir / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "isolated",
                                                          "language": "python"}), encoding="utf-8")
        client.km.kernel_spec_manager = KernelSpecManager(kernel_dirs=[str(spec_dir.parent)])
    client.km.transport = "ipc"  # unix sockets: no TCP ports, no plain-text warning
    client.km.ip = str(folder / "kernel")
    client.km.connection_file = str(folder / "kernel.json")  # nothing in ~/.local
    await client.async_start_new_kernel(cwd=str(cwd), env=env)
    pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
    if pid:
        with _LIVE_LOCK:
            _LIVE[pid] = client.km
    await client.async_start_new_kernel_client()
    return client, pid


async def _execute_quiet(client, code: str, show: bool = False) -> bool:
    """Run ``code`` in the client's kernel as a cell of its own; whether it ran without an error."""
    import nbformat

    cell = nbformat.v4.new_code_cell(code)
    client.nb.cells.append(cell)
    try:
        await client.async_execute_cell(cell, len(client.nb.cells) - 1)
    except Exception:  # noqa: BLE001 - a dead kernel: not usable
        return False
    errors = [out for out in cell.outputs if out.get("output_type") == "error"]
    if errors and show:
        print("\n".join(errors[0].get("traceback", [])), file=__import__("sys").stderr)
    return not errors


async def _stop_kernel(client, pid: int | None) -> None:
    if pid:
        _kill_group(pid)
        with _LIVE_LOCK:
            _LIVE.pop(pid, None)
    try:
        if client.kc is not None:
            client.kc.stop_channels()
        if client.km is not None:
            if pid is None and client.km.has_kernel:
                await client.km.shutdown_kernel(now=True)
            else:
                # the process is gone: reap it and remove the connection file
                proc = getattr(getattr(client.km, "provisioner", None), "process", None)
                if proc is not None:
                    await asyncio.get_running_loop().run_in_executor(None, proc.wait)
                from jupyter_core.utils import ensure_async

                await ensure_async(client.km.cleanup_resources())
    except Exception:  # pragma: no cover - best effort after a kill
        pass


def _syntax_error(source: str) -> SyntaxError | None:
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        code = TransformerManager().transform_cell(source)
    except Exception:
        code = source
    try:
        compile(code, "<cell>", "exec")
    except SyntaxError as exc:
        return exc
    return None
