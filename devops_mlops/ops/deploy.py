"""`mlops deploy`: create or update the target's jobs from the job definitions.

Jobs are matched by the tags mlops owns (see :mod:`devops_mlops.core.deploy_plan`).
A create is not idempotent on the service, so after creating, the jobs are listed again:
duplicates left by a create whose answer was lost are deleted (the id the create returned is
kept), and a create that failed without leaving a job is tried again (3 rounds at most).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .. import killpoint
from ..core.deploy_plan import DeployPlan, JobAction, owner_tags, plan_deploy, plan_permissions, select_jobs
from ..core.job_refs import order, refs_in, resolve
from ..errors import ConfigError, MlopsError, ServiceError
from . import artifacts


@dataclass
class DeployResult:
    target: str
    dry_run: bool
    plan: DeployPlan
    job_ids: dict[str, int] = field(default_factory=dict)
    deduplicated: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: (job_id, settings) of every job on the target when the plan was made (for a saved plan)
    remote: list[tuple[int, dict]] = field(default_factory=list, repr=False)
    #: the wheels shipped with the jobs (databricks targets with artifacts.path)
    shipped: Any = None

    def to_json(self) -> dict:
        doc = {"target": self.target, "dry_run": self.dry_run, **self.plan.to_json(), "job_ids": self.job_ids}
        if self.shipped is not None:
            doc["artifacts"] = self.shipped.to_json()
        if self.deduplicated:
            doc["deleted_duplicates"] = self.deduplicated
        if self.errors:
            doc["errors"] = self.errors
        return doc


def _owned(project: str, jobs) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for job in sorted(jobs.list(), key=lambda j: j.job_id):
        proj, key = owner_tags(job.settings)
        if proj == project and key:
            out.setdefault(key, []).append(job.job_id)
    return out


def _create_all(ctx, creates: list[JobAction], result: DeployResult, workers: int, step=None) -> None:
    jobs = ctx.jobs
    pending = list(creates)
    last_error: dict[str, str] = {}
    for _round in range(3):
        if not pending:
            return

        def make(action: JobAction) -> tuple[str, int | None]:
            try:
                job_id = jobs.create(action.settings)
                killpoint.reached("deploy.create")
                return action.key, job_id
            except MlopsError as exc:
                last_error[action.key] = exc.one_line()
                return action.key, None
            finally:
                if step is not None and _round == 0:
                    step()

        with ThreadPoolExecutor(max_workers=workers) as pool:
            returned = dict(pool.map(make, pending))
        killpoint.reached("deploy.created")
        owned = _owned(ctx.config.project, jobs)
        still: list[JobAction] = []
        for action in pending:
            ids = owned.get(action.key, [])
            keep = returned.get(action.key) if returned.get(action.key) in ids else (ids[0] if ids else None)
            for extra in ids:
                if extra != keep:
                    jobs.delete(extra)  # a duplicate from a create whose answer was lost
                    result.deduplicated.append(extra)
            if keep is None:
                still.append(action)
            else:
                action.job_id = keep
                result.job_ids[action.key] = keep
        pending = still
    for action in pending:
        result.errors.append(f"create {action.key}: {last_error.get(action.key, 'no job after 3 tries')}")


def load_definitions(ctx):
    """The target's job definitions (:class:`core.jobfiles.LoadedJobs`: jobs folder, bundle files), with the current user asked of the
    target only when a file uses ``${workspace.current_user.*}`` and, for a Git folder target, the
    files committed in the local repository; one note names what is left to the bundle CLI
    (resources that are not jobs)."""
    from ..files.jobs import committed_files, load_jobs

    loaded = load_jobs(ctx.config, ctx.target, whoami=lambda: ctx.jobs.current_user(),
                       tracked=committed_files(ctx.config, ctx.target, ctx.git))
    note = loaded.note()
    if note:
        ctx.console.progress(f"note: {note}")
    return loaded


def _fill_job_ids(ctx, definitions, desired: dict, remote: list) -> dict:
    """``${resources.jobs.<key>.id}`` filled in for the jobs of ours that exist; a job named that will
    not exist after this deploy (left out of a selective one) is exit 2."""
    known: dict[str, int] = {}
    for job_id, settings in sorted(remote, key=lambda r: r[0]):
        proj, key = owner_tags(settings)
        if proj == ctx.config.project and key:
            known.setdefault(key, job_id)
    out = {}
    for key, settings in desired.items():
        missing = sorted(k for k in definitions[key].job_refs if k not in known and k not in desired)
        if missing:
            d = definitions[key]
            raise ConfigError(f"resources.jobs.{key}: names the id of job {', '.join(missing)}, which is not "
                              f"deployed on {ctx.target.name} and not in this deploy", path=d.source, line=d.line,
                              hint="deploy it too (--job " + " --job ".join(missing) + ")")
        out[key] = resolve(settings, known) if definitions[key].job_refs else settings
    return out


def deploy(ctx, *, prune: bool = False, workers: int = 8, only: list[str] | None = None) -> DeployResult:
    """``only``: the job keys of a selective deploy (``--job``); the other jobs are left alone.

    A deploy that changes something holds the target's ``jobs`` lock (:mod:`ops.lock`) and plans
    again under it from a fresh list of the jobs: two deploys to one target at once would
    otherwise both create a job, and each would delete the other's as a duplicate. A deploy
    with nothing to change takes no lock and writes nothing."""
    loaded = load_definitions(ctx)
    shipped = artifacts.prepare(ctx, loaded.jobs)  # builds first: a package that fails changes nothing
    result = _plan(ctx, loaded, shipped, prune=prune, only=only, warn=True)
    if ctx.dry_run or not writes_planned(result):
        return result
    from .lock import exclusive

    with exclusive(ctx, "mlops deploy", name=JOBS_LOCK):
        result = _plan(ctx, loaded, shipped, prune=prune, only=only, warn=False)
        artifacts.upload(ctx, shipped)  # before any job names them
        apply_plan(ctx, result, workers)
    return result


#: the lock a deploy that writes holds (see ops/lock.py; the tables have their own)
JOBS_LOCK = "jobs"


def writes_planned(result: DeployResult) -> bool:
    """Would carrying out ``result`` write anything: a job, an ACL or an artifact?"""
    if result.plan.writes():
        return True
    return result.shipped is not None and any(a.op == "upload" for a in result.shipped.artifacts)


def _plan(ctx, loaded, shipped, *, prune: bool, only: list[str] | None, warn: bool) -> DeployResult:
    """The plan against the jobs the target has now (``warn``: say what is left alone)."""
    definitions = loaded.jobs
    desired = {key: d.settings for key, d in definitions.items()}
    if only:
        desired = select_jobs(desired, only)
        if prune and warn:
            ctx.console.warn("--prune has no effect with --job: a selective deploy deletes nothing")
    remote = [(job.job_id, job.settings) for job in ctx.jobs.list()]
    desired = _fill_job_ids(ctx, definitions, desired, remote)
    plan = plan_deploy(ctx.config.project, desired, remote, prune=prune and not only, only=list(only) if only else None,
                       bundle_state=loaded.bundle_state)
    result = DeployResult(ctx.target.name, ctx.dry_run, plan, remote=remote, shipped=shipped)
    for action in plan.of("update", "unchanged", "stale"):
        if action.job_id is not None and action.op != "stale":
            result.job_ids[action.key] = action.job_id
    acls = {key: d.permissions for key, d in definitions.items() if d.permissions is not None and key in desired}
    if acls:
        plan_permissions(plan, acls, ctx.jobs.get_permissions)
    if warn:
        for key, jid in plan.foreign:
            ctx.console.warn(f"job {jid} is also named {desired[key].get('name')!r} but was not created by mlops "
                             f"for {ctx.config.project}; it is left alone")
    return result


def apply_plan(ctx, result: DeployResult, workers: int = 8) -> None:
    """Carry out ``result.plan`` (updates and deletes in parallel, then the creates)."""
    plan = result.plan
    jobs = ctx.jobs

    changes, creates = plan.of("update", "delete"), plan.of("create")
    # jobs naming the id of a job created here wait for it (see core.job_refs)
    later = [a for a in changes if a.settings and refs_in(a.settings)]
    changes = [a for a in changes if a not in later]
    progress = ctx.console.tracker(len(changes) + len(later) + len(creates), "deploy")

    def apply(action: JobAction) -> str | None:
        try:
            if action.op == "update":
                jobs.reset(action.job_id, action.settings)
            elif action.op == "delete":
                jobs.delete(action.job_id)
            killpoint.reached("deploy.apply")
            return None
        except MlopsError as exc:
            return f"{action.op} {action.key} (job {action.job_id}): {exc.one_line()}"
        finally:
            progress.step()

    with progress:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            result.errors += [e for e in pool.map(apply, changes) if e]
        by_key = {a.key: a for a in creates}
        for wave in order({a.key: refs_in(a.settings) & set(by_key) for a in creates}):
            batch = [by_key[k] for k in wave]
            for a in batch:
                a.settings = resolve(a.settings, result.job_ids)
            _create_all(ctx, batch, result, workers, step=progress.step)
        for a in later:
            a.settings = resolve(a.settings, result.job_ids)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            result.errors += [e for e in pool.map(apply, later) if e]
    _apply_permissions(ctx, result)
    if result.errors:
        raise ServiceError(f"{len(result.errors)} job change(s) failed; first: {result.errors[0]}",
                           hint="run `mlops deploy` again: it only changes what still differs")


def _apply_permissions(ctx, result: DeployResult) -> None:
    """PUT the planned ACLs (after the jobs exist). A new job's ACL keeps the owner the service gave it."""
    from ..core.job_permissions import OWNER, to_send

    for action in result.plan.permissions:
        if action.op != "set":
            continue
        job_id = action.job_id or result.job_ids.get(action.key)
        if job_id is None:
            continue  # its create failed: reported already
        try:
            acl = action.acl or []
            if not any(e["permission_level"] == OWNER for e in acl):
                acl = to_send(acl, ctx.jobs.get_permissions(job_id))
            if acl is not None:
                ctx.jobs.set_permissions(job_id, acl)
            action.job_id = job_id
        except MlopsError as exc:
            result.errors.append(f"permissions of {action.key} (job {job_id}): {exc.one_line()}")


def find_job(ctx, key: str) -> Any:
    """The deployed job of ours with this key, or None."""
    ids = _owned(ctx.config.project, ctx.jobs).get(key, [])
    return ids[0] if ids else None
