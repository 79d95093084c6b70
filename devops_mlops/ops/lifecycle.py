"""Use case: `mlops lifecycle`, the whole MLOps flow end to end on one target (the main job).

Steps: lint, test, sync, deploy, train (the training job: extract -> prepare ->
features -> train -> validate), validate, promote, infer (the inference job on
the first new batch). Then monitoring over the later batches as they arrive
(each: the project's ``entry_points.ingest``, score, `monitor`): in range at
first, then each drift the project's ``entry_points.scenario`` announces: a
fixable one the retrain loop fixes (a new version registered, promoted,
committed with the skip-ci marker, the waiting batch scored by it), an
unfixable one it cannot (N tries, then the alert). Finally the report. Every step's outcome is checked against what the design says should
happen; the run exits 0 only when all of them behaved.

On the local target the lifecycle starts from a clean ``.mlops`` state (tables,
registry, jobs, workspace, alerts) so a second run behaves as the first, and it
leaves that state, the commit and the report behind to inspect. It needs a git
repository with at least one commit (the retrain loop commits to it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import InputError, MlopsError, UsageError
from ..runtime import tables as T

#: the local state the lifecycle resets before it starts (inside .mlops/)
LOCAL_STATE = ("tables", "spark-tables", "mlflow.db", "mlartifacts", "jobs", "workspace", "alerts.jsonl", "report", "dbfs", "monitor")


@dataclass
class Step:
    name: str
    ok: bool
    seconds: float
    detail: str = ""
    #: user+sys seconds of this process and the kernels it ran (steadier than wall time on a busy machine)
    cpu_seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class LifecycleResult:
    target: str
    steps: list[Step] = field(default_factory=list)
    monitoring: list[dict[str, Any]] = field(default_factory=list)
    expectations: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    #: kernels the run's kernel pool started, and how often one was handed on to the next notebook
    kernels: dict[str, int] = field(default_factory=dict)
    report: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps) and all(e["ok"] for e in self.expectations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "ok": self.ok,
            "seconds": round(self.seconds, 1),
            "cpu_seconds": round(self.cpu_seconds, 1),
            "kernels": self.kernels,
            "steps": [asdict(s) for s in self.steps],
            "monitoring": self.monitoring,
            "expectations": self.expectations,
            "report": self.report,
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        out = [f"mlops lifecycle on target {self.target}: {'OK' if self.ok else 'FAILED'} in {self.seconds:.0f}s"
               f" ({self.cpu_seconds:.0f}s CPU)"]
        for s in self.steps:
            out.append(f"  {'ok ' if s.ok else 'BAD'} {s.name:11} {s.seconds:6.1f}s {s.cpu_seconds:6.1f}s CPU  {s.detail}")
        if self.kernels:
            out.append(f"  kernels: {self.kernels.get('started', 0)} started, "
                       f"{self.kernels.get('reused', 0)} times handed on to the next notebook")
        if self.monitoring:
            out.append("  monitoring, batch by batch:")
            for m in self.monitoring:
                out.append(f"    batch {m['batch']:>3}: {m['summary']}")
        out.append("  expectations:")
        for e in self.expectations:
            out.append(
                f"    {'ok ' if e['ok'] else 'BAD'} {e['what']}" + (f" ({e['detail']})" if e.get("detail") else "")
            )
        if self.report:
            out.append(f"  report: {self.report}")
        out.extend(f"  note: {n}" for n in self.notes)
        return out


def git_preflight(root) -> str:
    """The HEAD commit of the repository the project is in; UsageError (exit 2) when there is none."""

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)

    if git("rev-parse", "--is-inside-work-tree").returncode != 0:
        raise UsageError(
            f"{root} is not a git repository: the retrain loop commits the retrained notebook to it",
            hint="clone the repository, or run `git init && git add -A && git commit -m initial` first",
        )
    head = git("rev-parse", "--verify", "HEAD")
    if head.returncode != 0:
        raise UsageError(
            f"the git repository at {root} has no commit yet: the retrain loop commits on top of one",
            hint="run `git add -A && git commit -m initial` first",
        )
    return head.stdout.strip()


def reset_local_state(ctx) -> list[str]:
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


class _Runner:
    def __init__(self, ctx, result: LifecycleResult):
        self.ctx, self.result = ctx, result

    def step(self, name: str, fn: Callable[[], tuple[bool, str, dict[str, Any]]]) -> dict[str, Any]:
        self.ctx.console.progress(f"== {name}")
        started, cpu = time.perf_counter(), cpu_seconds()
        try:
            ok, detail, data = fn()
        except MlopsError as exc:
            ok, detail, data = False, exc.one_line(), {}
        self.result.steps.append(Step(name, ok, time.perf_counter() - started, detail, data=data,
                                      cpu_seconds=cpu_seconds() - cpu))
        if not ok:
            raise _Stop(name)
        return data


class _Stop(Exception):
    pass


def cpu_seconds() -> float:
    """User+sys seconds of this process, of the children it waited for and of the kernels alive."""
    import resource

    from ..kernel.pool import live_kernel_cpu

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime + live_kernel_cpu()


def run_lifecycle(ctx, *, fresh: bool = True, retrainer: Any = None, max_batches: int | None = None,
                  reuse: bool = True) -> LifecycleResult:
    """Run the whole flow; the result says what happened and whether it is what the design expects."""
    from .ahead import Ahead
    from .retrain import retrainer_for

    started, cpu = time.perf_counter(), cpu_seconds()
    result = LifecycleResult(ctx.target.name)
    head = git_preflight(ctx.root)
    scenario = project_scenario(ctx)
    if ctx.target.backend == "local" and fresh and not ctx.dry_run:
        removed = reset_local_state(ctx)
        if removed:
            result.notes.append("started from a clean local state (removed .mlops/" + ", .mlops/".join(removed) + ")")
    run = _Runner(ctx, result)
    retrainer = retrainer if retrainer is not None else retrainer_for(ctx)
    local = ctx.target.backend == "local" and not ctx.dry_run
    preload = _preload(ctx) if local else []
    with _kernels(ctx, reuse, preload) as pool:
        # this process's own later work, started on the core the notebooks leave idle
        ahead = Ahead(ctx, preload).start() if local else None
        try:
            _main_job(ctx, run, ahead)
            _monitoring(ctx, run, result, scenario, retrainer, head, max_batches)
        except _Stop:
            pass
        finally:
            if ahead is not None:
                ahead.wait()  # never left running past the run (a step that stopped early)
        if pool is not None:
            result.kernels = dict(pool.stats)
    result.seconds, result.cpu_seconds = time.perf_counter() - started, cpu_seconds() - cpu
    return result


def _preload(ctx) -> list[str]:
    from ..kernel.pool import preload_for

    return preload_for(ctx.config)


def _kernels(ctx, reuse: bool, preload: list[str]):
    """Locally, one kernel pool for the whole run (docs/test.md): a kernel started now, while lint and
    sync run, with the libraries of the project's notebooks and package imported, then handed from
    notebook to notebook (test, the jobs' tasks, the retrain tries) after each pass. Databricks
    targets run their notebooks remotely: nothing to pool."""
    import contextlib

    if ctx.target.backend != "local" or ctx.dry_run:
        return contextlib.nullcontext()
    from ..kernel.entry_points import kernel_env
    from ..kernel.pool import kernel_pool

    ctx.registry  # noqa: B018 - it sets MLflow's client variables first: every kernel gets the same environment
    return kernel_pool(preload=preload, reuse=reuse, ahead=[kernel_env(ctx.config)])


def project_scenario(ctx) -> dict[str, Any]:
    """The project's entry points, checked before anything runs (ConfigError, exit 2, names the line of
    mlops.yaml), and the scenario its data source announces: ``history`` (batch ids), ``label_delay``,
    ``drifts`` (each ``from_batch`` and ``fixable``)."""
    from ..runtime.api import Session
    from ..kernel.entry_points import call, check_all, resolve

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


def _main_job(ctx, run: _Runner, ahead=None) -> None:
    from . import deploy as deploy_ops
    from . import sync as sync_ops
    from .lint import lint_paths
    from .model import promote, validate
    from .run import run_job
    from .test import run_tests

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
    frame = {}

    def gate():
        from ..runtime.api import Session

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


def _metrics(m: dict | None) -> str:
    return ", ".join(f"{k}={v:.3g}" for k, v in sorted((m or {}).items()) if k in ("mape", "r2"))


def _monitoring(
    ctx, run: _Runner, result: LifecycleResult, scenario, retrainer, head: str, max_batches: int | None
) -> None:
    from ..runtime.api import Session
    from ..kernel.entry_points import resolve
    from .infer import infer
    from .monitor import monitor

    session = Session(ctx)
    ingest = resolve(ctx.config, "ingest")
    drifts = scenario["drifts"]
    first = (session.batches(session.features_table) or [max(scenario["history"], default=-1)])[-1] + 1
    w = ctx.config.monitoring.windows
    last = (drifts[-1]["from_batch"] if drifts else first) + w.evaluate + scenario["label_delay"] + 1
    if max_batches is not None:
        last = min(last, first + max_batches - 1)
    outcomes: list[dict[str, Any]] = []

    def monitoring():
        with ctx.console.tracker(last - first + 1, "monitoring batches") as progress:
            return _batches(progress)

    def _batches(progress):
        for b in range(first, last + 1):
            ingest(session, [b])
            infer(ctx, batches=[b])
            m = monitor(ctx, retrainer=retrainer)
            entry = {
                "batch": b,
                "outcome": m.outcome,
                "window": m.check.window_end,
                "version": m.check.version,
                "metrics": {k: round(v, 4) for k, v in m.check.values().items()},
                "tries": [{"attempt": t["attempt"], "outcome": t["outcome"], "version": t["version"]} for t in m.tries],
                "promoted": m.promoted_version,
                "commit": m.commit,
                "commit_branch": m.commit_branch,
                "pushed": m.pushed,
                "scored": m.scored_batches,
                "alert": m.deliveries,
                "summary": _line(m),
            }
            outcomes.append(entry)
            result.monitoring.append(entry)
            if m.commit_summary:
                result.notes.append(f"retrain commit of batch {b}: {m.commit_summary}")
            progress.step()
            progress.note(f"   batch {b}: {entry['summary']}")
            if m.outcome == "alerted" and (not drifts or b > drifts[-1]["from_batch"]):
                break
        return True, f"batches {first}..{outcomes[-1]['batch'] if outcomes else first}", {}

    run.step("monitoring", monitoring)
    _expect(ctx, result, outcomes, head, drifts)

    def report():
        from .report import write_report

        r = write_report(ctx)
        result.report = r.html
        return True, f"{r.html} ({r.windows} windows)", {}

    run.step("report", report)


def _line(m) -> str:
    vals = ", ".join(f"{k}={v:.3g}" for k, v in m.check.values().items())
    outcome = m.outcome
    if outcome == "in-range" and any(r["status"] == "violation" for r in m.check.rows):
        outcome = "in-range by the rule (a violation, but not in V of the last K windows yet)"
    text = f"{outcome} [{vals}]" if vals else outcome
    if m.tries:
        text += "; tries: " + ", ".join(f"{t['attempt']}:{t['outcome']}" for t in m.tries)
    if m.outcome == "retrained":
        where = f" on {m.commit_branch}" if m.commit_branch else ""
        pushed = ", pushed" if m.pushed else ", not pushed" if m.commit_branch else ""
        text += f"; v{m.promoted_version} promoted, commit {str(m.commit)[:10]}{where}{pushed}, re-scored {m.scored_batches}"
    if m.outcome == "alerted":
        text += "; alert sent: " + ", ".join(d["channel"] for d in m.deliveries if d["ok"])
    return text


def _expect(ctx, result: LifecycleResult, outcomes: list[dict[str, Any]], head: str, drifts) -> None:
    cfg = ctx.config

    def expect(what: str, ok: bool, detail: str = "") -> None:
        result.expectations.append({"what": what, "ok": bool(ok), "detail": detail})

    in_range = [o for o in outcomes if o["outcome"] == "in-range"]
    retrained = [o for o in outcomes if o["outcome"] == "retrained"]
    alerted = [o for o in outcomes if o["outcome"] == "alerted"]
    expect("monitoring in range before any drift", bool(in_range), f"{len(in_range)} window(s)")
    fixable = [d["from_batch"] for d in drifts if d["fixable"]]
    unfixable = [d["from_batch"] for d in drifts if not d["fixable"]]
    if fixable:
        ok = len(retrained) == 1 and retrained[0]["promoted"] is not None
        expect(
            f"the drift from batch {fixable[0]} is fixed by retraining: a new version registered and promoted",
            ok,
            f"v{retrained[0]['promoted']} after {len(retrained[0]['tries'])} try(s)" if retrained else "no retrain",
        )
        if retrained:
            r = retrained[0]
            holder_ok = _predictions_from(ctx, r["scored"], r["promoted"])
            expect("the waiting batch is scored by the retrained version", holder_ok, f"batch(es) {r['scored']}")
            commit = str(r["commit"] or "")
            expect(
                "the retrain notebook is committed with the skip-ci marker",
                _committed(ctx.root, commit, cfg.scm.skip_marker, head),
                commit[:12],
            )
    if unfixable:
        ok = len(alerted) >= 1 and len(alerted[-1]["tries"]) == cfg.monitoring.max_retrains
        expect(
            f"the drift from batch {unfixable[0]} is not fixable: {cfg.monitoring.max_retrains} tries, then the alert",
            ok,
            f"{len(alerted[-1]['tries'])} tries" if alerted else "no alert",
        )
        if alerted:
            delivered = [d for d in alerted[-1]["alert"] if d["ok"]]
            expect(
                "the alert is recorded", bool(delivered), ", ".join(f"{d['channel']}: {d['detail']}" for d in delivered)
            )


def _predictions_from(ctx, batches: list[int], version: int | None) -> bool:
    if not batches or version is None:
        return version is not None
    tables = T.tables_for(ctx)
    preds = tables.read(T.PREDICTIONS, where={"batch_id": list(batches)})
    return len(preds) > 0 and {int(v) for v in preds["model_version"].unique()} == {int(version)}


def _committed(root, commit: str, marker: str, head: str) -> bool:
    if not commit or commit.startswith("failed") or commit == "no changes":
        # an identical provenance record was committed by an earlier run: nothing new to commit
        return commit == "no changes" and _has_marker_commit(root, marker)
    out = subprocess.run(
        ["git", "log", "-1", "--format=%B", commit], cwd=root, capture_output=True, text=True, check=False
    )
    return out.returncode == 0 and marker in out.stdout


def _has_marker_commit(root, marker: str) -> bool:
    out = subprocess.run(["git", "log", "-20", "--format=%B"], cwd=root, capture_output=True, text=True, check=False)
    return marker in out.stdout
