"""Use case: `mlops lifecycle`, the whole MLOps flow end to end on one target (the main job).

Steps: lint, test, sync, deploy, train (the training job: extract -> prepare ->
features -> train -> validate), validate, promote, infer (the inference job on
the first new batch) — :mod:`devops_mlops.ops.lifecycle_job`. Then monitoring over
the later batches as they arrive (each: the project's ``entry_points.ingest``,
score, `monitor`): in range at first, then each drift the project's
``entry_points.scenario`` announces: a fixable one the retrain loop fixes (a new
version registered, promoted, committed with the skip-ci marker, the waiting batch
scored by it), an unfixable one it cannot (N tries, then the alert). Finally the
report — :mod:`devops_mlops.ops.lifecycle_monitoring`. Every step's outcome is
checked against what the design says should happen; the run exits 0 only when all
of them behaved.

On the local target the lifecycle starts from a clean ``.mlops`` state (tables,
registry, jobs, workspace, alerts) so a second run behaves as the first, and it
leaves that state, the commit and the report behind to inspect. It needs a git
repository with at least one commit (the retrain loop commits to it).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from typing import TYPE_CHECKING, Any

from ..errors import InputError, UsageError
from ..kernel.entry_points import call, check_all, resolve
from .lifecycle_job import main_job
from .lifecycle_monitoring import monitor_batches
from .lifecycle_result import LifecycleResult, Step, Stopped, StepRunner, cpu_seconds
from .retrain import retrainer_for
from .session import Session

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["LOCAL_STATE", "LifecycleResult", "Step", "git_preflight", "project_scenario", "reset_local_state",
           "run_lifecycle"]

#: the local state the lifecycle resets before it starts (inside .mlops/)
LOCAL_STATE = ("tables", "spark-tables", "mlflow.db", "mlartifacts", "jobs", "workspace", "alerts.jsonl", "report", "dbfs", "monitor")


def git_preflight(ctx: Context) -> str:
    """The HEAD commit of the repository the project is in; UsageError (exit 2) when there is none."""
    repo = ctx.git
    if not repo.is_repository():
        raise UsageError(
            f"{ctx.root} is not a git repository: the retrain loop commits the retrained notebook to it",
            hint="clone the repository, or run `git init && git add -A && git commit -m initial` first",
        )
    head = repo.head()
    if head is None:
        raise UsageError(
            f"the git repository at {ctx.root} has no commit yet: the retrain loop commits on top of one",
            hint="run `git add -A && git commit -m initial` first",
        )
    return head


def reset_local_state(ctx: Context) -> list[str]:
    """Remove the local state of :data:`LOCAL_STATE` under .mlops/; the names removed."""
    removed = []
    for name in LOCAL_STATE:
        path = ctx.state_dir / name
        if path.is_dir():
            shutil.rmtree(path)
            removed.append(name)
        elif path.exists():
            path.unlink()
            removed.append(name)
    return removed


def run_lifecycle(ctx: Context, *, fresh: bool = True, retrainer: Any = None, max_batches: int | None = None,
                  reuse: bool = True) -> LifecycleResult:
    """Run the whole flow; the result says what happened and whether it is what the design expects."""
    from .ahead import Ahead

    started, cpu = time.perf_counter(), cpu_seconds()
    result = LifecycleResult(ctx.target.name)
    git_preflight(ctx)
    scenario = project_scenario(ctx)
    if ctx.target.backend == "local" and fresh and not ctx.dry_run:
        removed = reset_local_state(ctx)
        if removed:
            result.notes.append("started from a clean local state (removed .mlops/" + ", .mlops/".join(removed) + ")")
    run = StepRunner(ctx, result)
    retrainer = retrainer if retrainer is not None else retrainer_for(ctx)
    local = ctx.target.backend == "local" and not ctx.dry_run
    preload = _preload(ctx) if local else []
    with _kernels(ctx, reuse, preload) as pool:
        # this process's own later work, started on the core the notebooks leave idle
        ahead = Ahead(ctx, preload).start() if local else None
        try:
            main_job(ctx, run, ahead)
            monitor_batches(ctx, run, result, scenario, retrainer, max_batches)
        except Stopped:
            pass
        finally:
            if ahead is not None:
                ahead.wait()  # never left running past the run (a step that stopped early)
        if pool is not None:
            result.kernels = dict(pool.stats)
    result.seconds, result.cpu_seconds = time.perf_counter() - started, cpu_seconds() - cpu
    return result


def _preload(ctx: Context) -> list[str]:
    from ..kernel.pool import preload_for

    return preload_for(ctx.config)


def _kernels(ctx: Context, reuse: bool, preload: list[str]) -> Any:
    """Locally, one kernel pool for the whole run (docs/test.md): a kernel started now, while lint and
    sync run, with the libraries of the project's notebooks and package imported, then handed from
    notebook to notebook (test, the jobs' tasks, the retrain tries) after each pass. Databricks
    targets run their notebooks remotely: nothing to pool."""
    if ctx.target.backend != "local" or ctx.dry_run:
        return contextlib.nullcontext()
    from ..kernel.entry_points import kernel_env
    from ..kernel.pool import kernel_pool

    ctx.registry  # noqa: B018 - it sets MLflow's client variables first: every kernel gets the same environment
    return kernel_pool(preload=preload, reuse=reuse, ahead=[kernel_env(ctx.config)])


def project_scenario(ctx: Context) -> dict[str, Any]:
    """The project's entry points, checked before anything runs (ConfigError, exit 2, names the line of
    mlops.yaml), and the scenario its data source announces: ``history`` (batch ids), ``label_delay``,
    ``drifts`` (each ``from_batch`` and ``fixable``)."""
    check_all(ctx.config)
    for name in ("ingest", "evaluation_data", "scenario"):
        resolve(ctx.config, name)
    doc = call(ctx.config, "scenario", Session(ctx))
    spec = ctx.config.entry_points.scenario
    try:
        drifts = sorted(({"from_batch": int(d["from_batch"]), "fixable": bool(d["fixable"])} for d in doc["drifts"]),
                        key=lambda d: d["from_batch"])
        return {"history": [int(b) for b in doc["history"]], "label_delay": int(doc.get("label_delay", 0)),
                "drifts": drifts}
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"entry point scenario ({spec}) returned {str(doc)[:200]!r}: expected history, "
                         f"label_delay and drifts [{{from_batch, fixable}}] ({exc!r})", path=ctx.config.path) from None
