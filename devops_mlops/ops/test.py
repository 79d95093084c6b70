"""mlops test: run notebooks as tests, in local kernels or as Databricks one-time runs.

:func:`run_tests` picks the notebooks (:func:`discover`), runs them through
:mod:`devops_mlops.kernel.runner` (local target) or Jobs ``runs/submit`` through
``ctx.jobs`` (databricks target), and returns a :class:`TestReport`;
:func:`junit_suites` turns it into JUnit (one testcase per notebook, one per
``test_*`` function).
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.junit import Case, Failure, Suite
from ..core.params import parse_params  # noqa: F401 - re-exported for the CLI
from ..errors import ConfigError, InputError, UsageError
from ..files import notebooks as nbfiles
from ..kernel.runner import NotebookResult, TestResult

DEFAULT_POLL_SECONDS = 5.0


@dataclass
class TestReport:
    __test__ = False  # not a pytest class

    target: str
    backend: str
    results: list[NotebookResult] = field(default_factory=list)
    duration: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def unreadable(self) -> list[NotebookResult]:
        return [r for r in self.results if r.status == "error"]

    def to_json(self) -> dict:
        return {
            "target": self.target,
            "backend": self.backend,
            "passed": self.count("passed"),
            "failed": self.count("failed"),
            "timeout": self.count("timeout"),
            "error": self.count("error"),
            "duration": round(self.duration, 3),
            "notebooks": [r.to_json() for r in self.results],
        }


def is_test_notebook(path: Path, patterns: list[str]) -> bool:
    stem = path.name
    for ext in (".ipynb", ".py", ".sql", ".scala", ".r"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    return any(fnmatch.fnmatch(stem, p) or fnmatch.fnmatch(path.name, p) for p in patterns)


def discover(paths: list[Path], default_dir: Path | None, patterns: list[str]) -> list[Path]:
    """Explicit files run whatever their name; folders (and the default notebooks folder) give their test notebooks."""
    if not paths:
        if default_dir is None or not default_dir.is_dir():
            raise UsageError(f"no notebooks folder {default_dir} (give notebook paths)")
        paths = [default_dir]
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += [f for f in nbfiles.iter_notebook_files([p]) if is_test_notebook(f, patterns)]
        elif p.exists():
            found.append(p)
        else:
            raise InputError("no such file or folder", path=p)
    seen, unique = set(), []
    for f in found:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def run_tests(
    ctx,
    paths: list[Path],
    *,
    params: dict[str, str] | None = None,
    jobs: int | None = None,
    timeout: float | None = None,
    poll_seconds: float | None = None,
    on_result: Callable[[NotebookResult], None] | None = None,
    reuse: bool = True,
) -> TestReport:
    cfg = ctx.config
    notebooks = discover(paths, cfg.notebooks_dir, cfg.test.patterns)
    timeout = timeout if timeout is not None else cfg.test.timeout
    jobs = jobs or cfg.test.jobs or os.cpu_count() or 1
    report = TestReport(target=ctx.target.name, backend=ctx.target.backend)
    start = time.perf_counter()
    progress = ctx.console.tracker(len(notebooks), "test")

    def done(result: NotebookResult) -> None:
        progress.step()
        if on_result is not None:
            on_result(result)

    with progress:
        if ctx.target.backend == "databricks":
            report.results = run_remote(ctx, notebooks, params=params, timeout=timeout,
                                        poll_seconds=DEFAULT_POLL_SECONDS if poll_seconds is None else poll_seconds,
                                        on_result=done)
        else:
            from ..kernel.spark import kernel_env as engine_env
            from ..kernel.entry_points import kernel_env

            env = {"MLOPS_DBFS_ROOT": str(ctx.state_dir / "dbfs"), **kernel_env(cfg)}  # the project's package
            env.update(engine_env(ctx) if notebooks else {})  # the target's engine (local Spark)
            from ..kernel.pool import kernel_pool, preload_for

            # kernels started ahead with the notebooks' libraries imported, handed on after a pass
            with kernel_pool(preload=preload_for(cfg, notebooks), reuse=reuse,
                             ahead=[env] * min(jobs, len(notebooks))):
                report.results = run_local(notebooks, params=params, jobs=jobs, timeout=timeout, env=env,
                                           on_result=done)
    report.duration = time.perf_counter() - start
    for r in report.results:
        r.path = _shown(r.path, cfg.root)
        if r.error_path:
            r.error_path = _shown(r.error_path, cfg.root)
        for s in r.skipped_cells:
            s["path"] = _shown(s["path"], cfg.root)
        for t in r.tests:
            if t.path:
                t.path = _shown(t.path, cfg.root)
    return report


def run_local(notebooks: list[Path], *, params, jobs, timeout, env=None, on_result=None) -> list[NotebookResult]:
    import asyncio

    from ..kernel.runner import run_many_async, run_sync

    if not notebooks:
        return []
    coro = run_many_async(notebooks, jobs=jobs, params=params, timeout=timeout or None, env=env, on_result=on_result)
    try:
        return run_sync(coro)
    except (KeyboardInterrupt, asyncio.CancelledError):
        from ..kernel.kernels import kill_all_kernels

        kill_all_kernels()
        raise


def _shown(path: str, root: Path) -> str:
    p = Path(path)
    for base in (Path.cwd(), root):
        try:
            return p.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return str(path)


# ------------------------------------------------------------------ databricks


def submit_task(remote_path: str, params: dict[str, str] | None, compute: dict[str, Any], timeout: float | None) -> dict:
    """The runs/submit task for one notebook on the target's compute."""
    task: dict[str, Any] = {
        "task_key": "test",
        "notebook_task": {"notebook_path": remote_path, "source": "WORKSPACE", "base_parameters": dict(params or {})},
    }
    if compute.get("existing_cluster_id"):
        task["existing_cluster_id"] = str(compute["existing_cluster_id"])
    elif compute.get("new_cluster") or compute.get("job_cluster"):
        task["new_cluster"] = compute.get("new_cluster") or compute.get("job_cluster")
    # serverless / environment: notebook tasks take no compute key
    if timeout:
        task["timeout_seconds"] = int(timeout)
    return task


def run_remote(ctx, notebooks: list[Path], *, params, timeout, poll_seconds: float, on_result=None) -> list[NotebookResult]:
    """Submit every notebook as a one-time run, then poll them all until each ends."""
    from ..core.jobdefs import remote_notebook_path
    from ..files.jobs import committed_files

    jobs_port = ctx.jobs
    tracked = committed_files(ctx.config, ctx.target, ctx.git)
    results: list[NotebookResult] = []
    pending: dict[int, tuple[NotebookResult, float, str]] = {}
    for nb in notebooks:
        result = NotebookResult(path=str(nb), status="passed")
        results.append(result)
        try:
            nbfiles.read(nb)
            # a Git folder: only if committed
            remote = remote_notebook_path(ctx.config, ctx.target, nb, tracked=tracked)
        except (InputError, ConfigError) as exc:
            result.status, result.error, result.line = "error", exc.message, getattr(exc, "line", None)
            if on_result:
                on_result(result)
            continue
        task = submit_task(remote, params, ctx.target.compute or {}, timeout)
        run_id = jobs_port.submit(f"mlops test {remote}", [task])
        pending[run_id] = (result, time.perf_counter(), remote)
    while pending:
        for run_id in list(pending):
            result, started, remote = pending[run_id]
            run = jobs_port.get_run(run_id)
            elapsed = time.perf_counter() - started
            if run.state in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR"):
                _from_run(result, run, remote)
            elif timeout and elapsed > timeout:
                jobs_port.cancel_run(run_id)
                result.status, result.error = "timeout", f"timed out after {timeout:g}s (run {run_id} cancelled)"
            else:
                continue
            result.duration = elapsed
            del pending[run_id]
            if on_result:
                on_result(result)
        if pending:
            time.sleep(poll_seconds)
    return results


def _from_run(result: NotebookResult, run, remote: str) -> None:
    task = run.tasks[0] if run.tasks else None
    state = (task.result_state if task else None) or run.result_state
    if task is not None:
        result.exit_value = task.notebook_output
    if state == "SUCCESS":
        result.status = "passed"
        return
    result.status = "timeout" if state == "TIMEDOUT" else "failed"
    error = (task.error if task else None) or f"run {run.run_id} ended {state or run.state}"
    result.error = error
    result.traceback = (task.error_trace if task else None) or None
    if run.run_page_url:
        result.traceback = (result.traceback + "\n" if result.traceback else "") + f"run: {run.run_page_url}"


# ------------------------------------------------------------------ junit


def _failure(message: str, text: str | None, kind: str = "failure") -> Failure:
    return Failure(message=message, text=text or message, kind=kind)


def junit_suites(report: TestReport) -> list[Suite]:
    suite = Suite(f"mlops test ({report.target})", time=report.duration)
    for r in report.results:
        classname = Path(r.path).with_suffix("").as_posix().replace("/", ".")
        case = Case(name=r.path, classname=classname, time=r.duration, file=r.error_path or r.path, line=r.line,
                    stdout=r.output or None)
        if r.status == "error":
            case.failure = _failure(f"{r.path}: {r.error}", r.error, kind="error")
        elif r.status in ("failed", "timeout") and not r.failed_in_tests:
            where = f"{r.error_path or r.path}" + (f":{r.line}" if r.line else "") + (f" (cell {r.cell})" if r.cell else "")
            case.failure = _failure(f"{where}: {r.error}", r.traceback or r.error)
        suite.cases.append(case)
        for t in r.tests:
            suite.cases.append(_test_case(r, t, classname))
    return [suite]


def _test_case(r: NotebookResult, t: TestResult, classname: str) -> Case:
    case = Case(name=t.name, classname=classname, time=t.duration, file=t.path or r.path, line=t.line)
    if t.status != "passed":
        where = f"{t.path or r.path}" + (f":{t.line}" if t.line else "")
        case.failure = _failure(f"{where}: {t.error}", t.traceback or t.error)
    return case
