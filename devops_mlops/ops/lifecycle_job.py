"""The main job of `mlops lifecycle`: lint, test, sync, deploy, train, validate, promote, infer.

Each is one step of the run (:class:`~devops_mlops.ops.lifecycle_result.StepRunner`):
the same use cases the CLI commands call, then the training and inference jobs run
through the jobs port, the gate on the project's evaluation rows, the promotion.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import deploy as deploy_ops
from . import sync as sync_ops
from .lifecycle_result import StepRunner
from .lint import lint_paths
from .model import promote, validate
from .run import run_job
from .session import Session
from .test import run_tests

if TYPE_CHECKING:
    from ..context import Context
    from .ahead import Ahead


def main_job(ctx: Context, run: StepRunner, ahead: Ahead | None = None) -> None:
    """Run the main job's steps in order (Stopped at the first that does not behave); ``ahead``: the
    work this process started early, waited for before a step needs it."""
    cfg = ctx.config

    def lint():
        r = lint_paths(
            [cfg.notebooks_dir],
            select=cfg.lint.select or None,
            ignore=cfg.lint.ignore,
            exclude=cfg.lint.exclude,
            root=cfg.root,
        )
        return r.ok, f"{len(r.files)} files, {len(r.findings)} finding(s)", r.to_json()["summary"]

    def test():
        if ahead is not None:
            ahead.wait_registry()  # a test notebook may use the registry: its store is complete first
        r = run_tests(ctx, [])
        return r.ok, f"{r.count('passed')} passed, {len(r.results) - r.count('passed')} failed", {}

    def sync():
        r = sync_ops.sync(ctx)
        doc = r.to_json()
        counts = {k: len(v) for k, v in doc.items() if isinstance(v, list) and k != "errors"}
        return not r.errors, f"to {r.root} ({', '.join(f'{k} {v}' for k, v in counts.items() if v) or 'unchanged'})", {}

    def deploy():
        r = deploy_ops.deploy(ctx)
        return not r.errors, f"{len(r.job_ids)} jobs: {', '.join(sorted(r.job_ids))}", {"job_ids": r.job_ids}

    def train():
        r = run_job(ctx, "training")
        if not r.ok:
            failed = r.failed_tasks[0] if r.failed_tasks else None
            return (
                False,
                f"job run {r.run_id} {r.run.result_state if r.run else ''}: "
                + (f"{failed.task_key}: {failed.error}" if failed else ""),
                {},
            )
        out = next((t.notebook_output for t in r.run.tasks if t.task_key == "train"), None)
        doc = json.loads(out or "{}")
        return (
            bool(doc.get("version")),
            f"training job run {r.run_id}: v{doc.get('version')} {_metrics(doc.get('metrics'))}",
            doc,
        )

    run.step("lint", lint)
    run.step("test", test)
    run.step("sync", sync)
    run.step("deploy", deploy)
    trained = run.step("train", train)
    version = int(trained["version"])
    frame: dict[str, Any] = {}

    def gate():
        if ahead is not None:
            ahead.wait()
        frame["eval"] = Session(ctx).evaluation_frame()
        v = validate(ctx, version, frame["eval"])
        frame["validation"] = v
        return v.passed, f"v{version} gate {v.gate.summary()} on {v.rows} rows", {}

    def prom():
        p = promote(ctx, version, "production", validation=frame["validation"])
        return ctx.registry.holder(cfg.model.name, "production").version == version, p.message, {}

    def infer_job():
        r = run_job(ctx, "inference")
        if not r.ok:
            failed = r.failed_tasks[0] if r.failed_tasks else None
            return (
                False,
                f"inference job run {r.run_id}: " + (f"{failed.task_key}: {failed.error}" if failed else ""),
                {},
            )
        out = next((t.notebook_output for t in r.run.tasks if t.task_key == "batch_inference"), None)
        doc = json.loads(out or "{}")
        return (
            doc.get("rows", 0) > 0,
            f"inference job run {r.run_id}: {doc.get('rows')} rows of batch(es) {doc.get('batches')} by v{doc.get('version')}",
            doc,
        )

    run.step("validate", gate)
    run.step("promote", prom)
    run.step("infer", infer_job)



def _metrics(m: dict[str, float] | None) -> str:
    return ", ".join(f"{k}={v:.3g}" for k, v in sorted((m or {}).items()) if k in ("mape", "r2"))
