"""What ``mlops deploy`` will do: plain logic, no I/O.

A deployed job is ours when its tags say so (``mlops_project`` = the project,
``mlops_job_key`` = the definition's key); names never decide. Per definition:
no job of ours -> ``create``; one -> ``update`` (reset) when the settings differ after
:func:`normalize`, else ``unchanged``; several (a create whose answer was lost) -> keep the
oldest, delete the others. Jobs of ours whose key is no longer defined -> ``delete`` with
``--prune``, else ``stale``. A job with the same name that is not ours is reported, never touched.

A selective deploy (``only``: ``mlops deploy --job KEY``) plans the named keys alone: the
other jobs, ours or not, are left out of the plan entirely (never stale, never pruned).
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

#: settings the service fills in when they are not sent: dropped before comparing
_JOB_DEFAULTS = {"format": "MULTI_TASK", "max_concurrent_runs": 1, "timeout_seconds": 0}
_TASK_DEFAULTS = {"run_if": "ALL_SUCCESS", "timeout_seconds": 0}
_SERVER_ONLY = ("run_as", "edit_mode", "deployment", "queue")
_LISTS_BY = {"tasks": "task_key", "job_clusters": "job_cluster_key", "environments": "environment_key",
             "parameters": "name"}


@dataclass
class JobAction:
    op: str  # create | update | unchanged | delete | stale
    key: str
    job_id: int | None = None
    settings: dict[str, Any] | None = None
    diff: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass
class PermissionAction:
    """The direct permissions of one job: ``set`` (``acl`` is sent) or ``unchanged``."""

    op: str
    key: str
    job_id: int | None = None
    acl: list[dict[str, str]] | None = None
    diff: list[str] = field(default_factory=list)
    #: the job's direct ACL when the plan was made (None for a job to create)
    current: list[dict[str, str]] | None = field(default=None, repr=False)


@dataclass
class DeployPlan:
    actions: list[JobAction] = field(default_factory=list)
    #: the jobs whose definitions carry a ``permissions`` block
    permissions: list[PermissionAction] = field(default_factory=list)
    #: same-name jobs that are not ours: (key, job_id)
    foreign: list[tuple[str, int]] = field(default_factory=list)
    #: the job keys a selective deploy was limited to (None: every job)
    only: list[str] | None = None

    def of(self, *ops: str) -> list[JobAction]:
        return [a for a in self.actions if a.op in ops]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for a in self.actions:
            out[a.op] = out.get(a.op, 0) + 1
        return out

    def to_json(self) -> dict:
        doc = {"actions": [{"op": a.op, "key": a.key, "job_id": a.job_id, "reason": a.reason, "diff": a.diff}
                           for a in self.actions],
               "foreign_same_name": [{"key": k, "job_id": j} for k, j in self.foreign],
               "counts": self.counts()}
        if self.permissions:
            doc["permissions"] = [{"op": p.op, "key": p.key, "job_id": p.job_id, "diff": p.diff}
                                  for p in self.permissions]
        if self.only is not None:
            doc["only"] = list(self.only)
        return doc

    def permission_changes(self) -> int:
        return sum(p.op == "set" for p in self.permissions)

    def writes(self) -> bool:
        """Would carrying it out write a job or an ACL?"""
        return bool(self.of("create", "update", "delete")) or self.permission_changes() > 0


def select_jobs(desired: dict[str, Any], names: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The definitions named by ``--job`` (in definition order); an unknown name is a usage error (exit 2)
    listing the known keys."""
    from ..errors import UsageError

    unknown = [n for n in dict.fromkeys(names) if n not in desired]
    if unknown:
        known = ", ".join(desired) or "none"
        raise UsageError(f"unknown job {', '.join(repr(n) for n in unknown)}; the job definitions define: {known}",
                         hint="job keys are the keys under resources.jobs in the jobs folder")
    wanted = set(names)
    return {k: v for k, v in desired.items() if k in wanted}


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in ({}, [], None)}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def normalize(settings: dict[str, Any], desired: dict[str, Any] | None = None) -> dict[str, Any]:
    """Settings without what the service adds by itself, lists keyed and sorted, empties dropped.
    ``desired``: keys the definition sets explicitly are kept even when they equal a default."""
    desired = desired or {}
    s = copy.deepcopy(settings)
    for k, v in _JOB_DEFAULTS.items():
        if s.get(k) == v and k not in desired:
            s.pop(k)
    for k in _SERVER_ONLY:
        if k not in desired:
            s.pop(k, None)
    want_tasks = {t.get("task_key"): t for t in desired.get("tasks", [])}
    for t in s.get("tasks", []):
        mine = want_tasks.get(t.get("task_key"), {})
        for k, v in _TASK_DEFAULTS.items():
            if t.get(k) == v and k not in mine:
                t.pop(k)
        nt = t.get("notebook_task")
        if nt and nt.get("source") == "WORKSPACE" and "source" not in (mine.get("notebook_task") or {}):
            nt.pop("source")
    for key, by in _LISTS_BY.items():
        if isinstance(s.get(key), list):
            s[key] = sorted(s[key], key=lambda x: str(x.get(by)) if isinstance(x, dict) else str(x))
    return _clean(s)


def _fmt(v: Any) -> str:
    text = json.dumps(v, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def diff(old: Any, new: Any, path: str = "") -> list[str]:
    """Readable changes from ``old`` to ``new`` (both normalized): '+ a.b: 1', '- c', '~ d: 1 -> 2'."""
    out: list[str] = []
    if isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(set(old) | set(new), key=str):
            p = f"{path}.{k}" if path else str(k)
            if k not in old:
                out.append(f"+ {p}: {_fmt(new[k])}")
            elif k not in new:
                out.append(f"- {p}: {_fmt(old[k])}")
            else:
                out += diff(old[k], new[k], p)
        return out
    if isinstance(old, list) and isinstance(new, list):
        by = _LISTS_BY.get(path.rsplit(".", 1)[-1])
        if by and all(isinstance(x, dict) for x in old + new):
            o = {x.get(by): x for x in old}
            n = {x.get(by): x for x in new}
            if len(o) == len(old) and len(n) == len(new):
                return diff(o, n, path)
    if old != new:
        out.append(f"~ {path}: {_fmt(old)} -> {_fmt(new)}")
    return out


def added(new: Any, path: str = "") -> list[str]:
    """The settings of a job to create as readable lines ('+ tasks.first.notebook_task.notebook_path: ...'),
    one per leaf, lists of keyed objects (tasks by task_key, ...) by their key."""
    if isinstance(new, list):
        by = _LISTS_BY.get(path.rsplit(".", 1)[-1])
        keys = [x.get(by) for x in new if isinstance(x, dict)] if by else []
        if not (by and len(keys) == len(new) and len(set(keys)) == len(keys)):
            return [f"+ {path}: {_fmt(new)}"]
        new = {k: x for k, x in zip(keys, new)}
    if isinstance(new, dict) and new:
        out: list[str] = []
        for k in sorted(new, key=str):
            out += added(new[k], f"{path}.{k}" if path else str(k))
        return out
    return [f"+ {path}: {_fmt(new)}"]


def owner_tags(settings: dict[str, Any]) -> tuple[str | None, str | None]:
    tags = settings.get("tags") or {}
    return tags.get("mlops_project"), tags.get("mlops_job_key")


_DEV_PREFIX = re.compile(r"^\[dev [^\]]+\] ")


def bundle_managed(settings: dict[str, Any], patterns: list[str]) -> bool:
    """A job the bundle CLI deployed for this bundle and target: ``deployment.kind`` BUNDLE and its
    metadata file under the bundle's root path (``patterns``: :func:`core.bundle.state_patterns`)."""
    dep = settings.get("deployment") or {}
    path = str(dep.get("metadata_file_path") or "")
    return dep.get("kind") == "BUNDLE" and any(fnmatch.fnmatchcase(path, p) for p in patterns)


def plan_deploy(project: str, desired: dict[str, dict[str, Any]], remote: list[tuple[int, dict[str, Any]]],
                *, prune: bool = False, only: list[str] | None = None,
                bundle_state: list[str] | None = None) -> DeployPlan:
    """``desired``: key -> settings; ``remote``: (job_id, settings) of every job on the target.
    ``only``: plan these keys alone (``desired`` already limited to them); nothing else is touched.
    ``bundle_state``: with a bundle beside the project, a job of that name that the bundle CLI
    deployed for this bundle and target (``[dev user] `` name prefix aside) is adopted (an update
    that adds the ownership tags) instead of creating a second one."""
    plan = DeployPlan(only=list(only) if only is not None else None)
    ours: dict[str, list[tuple[int, dict]]] = {}
    names: dict[str, list[int]] = {}
    bundled: dict[str, list[tuple[int, dict]]] = {}
    for job_id, settings in sorted(remote, key=lambda r: r[0]):
        proj, key = owner_tags(settings)
        if proj == project and key:
            ours.setdefault(key, []).append((job_id, settings))
        elif bundle_state and bundle_managed(settings, bundle_state):
            bundled.setdefault(_DEV_PREFIX.sub("", settings.get("name") or ""), []).append((job_id, settings))
        else:
            names.setdefault(settings.get("name") or "", []).append(job_id)
    for key, settings in desired.items():
        for jid in names.get(settings.get("name") or "", []):
            plan.foreign.append((key, jid))
        found = ours.get(key, [])
        if not found and bundled.get(settings.get("name") or ""):
            job_id, current = bundled.pop(settings.get("name") or "")[0]
            changes = diff(normalize(current, settings), normalize(settings, settings))
            plan.actions.append(JobAction("update", key, job_id, settings, changes,
                                          "adopt the job the bundle CLI deployed (same name, this bundle and target)"))
            continue
        if not found:
            plan.actions.append(JobAction("create", key, None, settings, reason="not deployed yet"))
            continue
        (job_id, current), extra = found[0], found[1:]
        for jid, _ in extra:
            plan.actions.append(JobAction("delete", key, jid, reason=f"duplicate of job {job_id}"))
        changes = diff(normalize(current, settings), normalize(settings, settings))
        if changes:
            plan.actions.append(JobAction("update", key, job_id, settings, changes, "settings differ"))
        else:
            plan.actions.append(JobAction("unchanged", key, job_id))
    for key, found in ours.items():
        if key in desired or only is not None:
            continue
        for job_id, _ in found:
            if prune:
                plan.actions.append(JobAction("delete", key, job_id, reason="no longer defined"))
            else:
                plan.actions.append(JobAction("stale", key, job_id, reason="no longer defined (--prune deletes)"))
    return plan


def plan_permissions(plan: DeployPlan, desired: dict[str, list[dict[str, str]]],
                     current: Callable[[int], list[dict[str, str]]]) -> None:
    """Add a :class:`PermissionAction` per job of ``desired`` (key -> ACL of its ``permissions`` block).
    ``current(job_id)``: the job's direct ACL, asked only for jobs that exist."""
    from .job_permissions import changes, to_send

    by_key = {a.key: a for a in plan.actions if a.op in ("create", "update", "unchanged")}
    for key, acl in desired.items():
        action = by_key.get(key)
        if action is None:
            continue
        if action.op == "create":
            plan.permissions.append(PermissionAction("set", key, None, list(acl), changes(acl, [])))
            continue
        have = current(action.job_id)
        send = to_send(acl, have)
        if send is None:
            plan.permissions.append(PermissionAction("unchanged", key, action.job_id, current=have))
        else:
            plan.permissions.append(PermissionAction("set", key, action.job_id, send, changes(acl, have), have))
