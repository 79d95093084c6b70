"""Job definitions: the YAML files of the ``jobs`` folder, in the Databricks bundle shape.

Public API (stable; other modules import it):

``validate_job(config, target, key, job, path, lines, source, files) -> JobDefinition``
    One job of the files (:func:`devops_mlops.files.jobs.load_job_definitions` reads them all,
    :mod:`.jobfiles` fills their references): validates it; rewrites every
    ``notebook_task.notebook_path`` (relative to the YAML file or the repo root,
    extension optional) and the other local paths (:mod:`.job_paths`) to where
    ``mlops sync`` puts them on the target; applies the target's ``compute`` to tasks that name none; adds
    the ownership tags ``mlops_project`` and ``mlops_job_key``. An invalid definition raises
    :class:`ConfigError` (exit 2) naming the file, the key path and the line.

``remote_notebook_path(config, target, path, *, tracked) -> str``
    Where sync puts the repo notebook ``path`` (relative to the repo root, or
    absolute) for ``target``: Git folder mode ``<repo_path>/<path from repo root>``;
    workspace mode ``<workspace_dir>/<path from the notebooks folder>``; the local
    backend ``/<path from the notebooks folder>`` inside ``.mlops/workspace/<target>/``.
    Notebook extensions (.py .sql .scala .r .ipynb) are dropped, as the workspace does. In Git
    folder mode the notebook must be among ``tracked`` (the files committed at HEAD, when known).

``JobDefinition``: ``key``, ``settings`` (the Jobs API JobSettings dict to send),
``source`` (file), ``line``, ``notebooks`` (task_key -> repo file ``Path``), ``permissions``
(the ACL of its ``permissions`` block, or None), ``job_refs`` (jobs whose id it names), ``task_order()``.

``OWNER_TAGS`` = (``mlops_project``, ``mlops_job_key``).

Target ``compute`` (databricks targets), applied to tasks without any compute of their own:
``{serverless: true}`` (nothing added), ``{existing_cluster_id: ID}``,
``{new_cluster: {...}}`` (a shared job cluster ``mlops_cluster``), or
``{environment: {...}}`` (a serverless environment spec ``mlops_env`` for non-notebook tasks).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import ConfigError
from ..yamlload import Lines, dotted, line_of
from .job_permissions import PermissionsError
from .job_permissions import parse as parse_permissions
from .job_paths import (NOTEBOOK_EXTS, ProjectFiles, find_file, from_file_path, require_committed,
                        rewrite_environments, rewrite_task_files, workspace_paths)

OWNER_TAGS = ("mlops_project", "mlops_job_key")
_JOB_KEY = re.compile(r"^[A-Za-z0-9_\-]+$")

_TASK_TYPES = (
    "notebook_task", "spark_python_task", "python_wheel_task", "sql_task", "condition_task",
    "run_job_task", "spark_jar_task", "spark_submit_task", "dbt_task", "pipeline_task", "for_each_task",
)
_JOB_KEYS = {
    "name": str, "description": str, "tasks": list, "job_clusters": list, "environments": list,
    "schedule": dict, "trigger": dict, "continuous": dict, "parameters": list, "email_notifications": dict,
    "webhook_notifications": dict, "notification_settings": dict, "tags": dict, "max_concurrent_runs": int,
    "timeout_seconds": int, "queue": dict, "health": dict, "run_as": dict, "git_source": dict,
    "performance_target": str, "budget_policy_id": str, "permissions": list,
}
_TASK_KEYS = {
    "task_key": str, "description": str, "depends_on": list, "job_cluster_key": str, "environment_key": str,
    "existing_cluster_id": str, "new_cluster": dict, "libraries": list, "timeout_seconds": int,
    "max_retries": int, "min_retry_interval_millis": int, "retry_on_timeout": bool, "run_if": str,
    "email_notifications": dict, "notification_settings": dict, "health": dict, "webhook_notifications": dict,
    "disable_auto_optimization": bool, **{t: dict for t in _TASK_TYPES},
}
_NOTEBOOK_TASK_KEYS = {"notebook_path": str, "base_parameters": dict, "source": str, "warehouse_id": str}
_RUN_IF = ("ALL_SUCCESS", "ALL_DONE", "NONE_FAILED", "AT_LEAST_ONE_SUCCESS", "ALL_FAILED", "AT_LEAST_ONE_FAILED")
_COMPUTE_KEYS = ("serverless", "existing_cluster_id", "new_cluster", "job_cluster", "environment")


@dataclass
class JobDefinition:
    key: str
    settings: dict[str, Any]
    source: Path
    line: int | None = None
    #: task_key -> the notebook file in the repo
    notebooks: dict[str, Path] = field(default_factory=dict)
    #: the direct ACL of the job's ``permissions`` block (None: no block, permissions left alone)
    permissions: list[dict[str, str]] | None = None
    #: the job keys its settings name through ${resources.jobs.<key>.id} (see core.job_refs)
    job_refs: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.settings["name"]

    def task_order(self) -> list[str]:
        """Task keys in dependency order (stable: file order among ready tasks)."""
        tasks = self.settings["tasks"]
        deps = {t["task_key"]: [d["task_key"] for d in t.get("depends_on", [])] for t in tasks}
        return _topological(deps)


# ------------------------------------------------------------------ paths
def _strip_ext(rel: str) -> str:
    for ext in NOTEBOOK_EXTS:
        if rel.endswith(ext):
            return rel[: -len(ext)]
    return rel


def remote_notebook_path(config, target, path: str | Path, *, tracked: frozenset[str] | None) -> str:
    """Where sync puts the repo notebook ``path`` for ``target`` (see the module docstring); in Git
    folder mode the notebook must be among the ``tracked`` files (None: not known, not checked)."""
    p = Path(path)
    if not p.is_absolute():
        p = config.root / p
    p = Path(_normalize(p))
    root = Path(_normalize(config.root))
    nb_dir = Path(_normalize(config.notebooks_dir))
    if target.backend == "databricks" and target.repo_path:
        try:
            rel = p.relative_to(root)
        except ValueError:
            raise ConfigError(f"{path} is outside the repository {root}") from None
        require_committed(target, rel.as_posix(), tracked)
        return str(PurePosixPath(target.repo_path.rstrip("/") or "/") / _strip_ext(rel.as_posix()))
    try:
        rel = p.relative_to(nb_dir)
    except ValueError:
        raise ConfigError(
            f"{path} is not under the notebooks folder {config.notebooks!r}: sync uploads only that folder",
            hint="move the notebook there or use a Git folder target (repo_path)",
        ) from None
    base = (target.workspace_dir or "/") if target.backend == "databricks" else "/"
    return str(PurePosixPath(base.rstrip("/") or "/") / _strip_ext(rel.as_posix()))


def _normalize(p: Path) -> str:
    return os.path.normpath(os.path.abspath(p))


# ------------------------------------------------------------------ validation
def _err(source: Path, lines: Lines, path: tuple, message: str) -> ConfigError:
    return ConfigError(f"{dotted(path)}: {message}", path=source, line=line_of(lines, path))


_TYPE_NAMES = {str: "a string", int: "an integer", dict: "a mapping", list: "a list", bool: "true or false"}


def _check_keys(obj: Any, allowed: dict, path: tuple, lines: Lines, source: Path, what: str) -> None:
    if not isinstance(obj, dict):
        raise _err(source, lines, path, f"{what} must be a mapping")
    for k, v in obj.items():
        if k not in allowed:
            known = ", ".join(sorted(allowed))
            raise _err(source, lines, path + (k,), f"unknown key {k!r} in {what} (known: {known})")
        tp = allowed[k]
        ok = isinstance(v, tp) and not (tp is int and isinstance(v, bool))
        if tp is str and isinstance(v, (int, float)) and not isinstance(v, bool):
            ok = True
        if not ok:
            raise _err(source, lines, path + (k,), f"expected {_TYPE_NAMES[tp]}, got {type(v).__name__}")


def _topological(deps: dict[str, list[str]]) -> list[str]:
    order: list[str] = []
    done: set[str] = set()
    pending = list(deps)
    while pending:
        progressed = False
        for key in list(pending):
            if all(d in done for d in deps[key]):
                order.append(key)
                done.add(key)
                pending.remove(key)
                progressed = True
        if not progressed:
            raise ValueError("cycle: " + " -> ".join(pending))
    return order


def validate_job(config, target, key: str, job: Any, path: tuple, lines: Lines, source: Path,
                 files: ProjectFiles) -> JobDefinition:
    if not _JOB_KEY.match(str(key)):
        raise _err(source, lines, path, "job keys may contain letters, digits, '_' and '-' only")
    _check_keys(job, _JOB_KEYS, path, lines, source, "a job")
    settings = dict(job)
    settings.setdefault("name", str(key))
    permissions = None
    if "permissions" in settings:  # not a job setting: the Jobs permissions API takes it
        try:
            permissions = parse_permissions(settings.pop("permissions"))
        except PermissionsError as exc:
            raise _err(source, lines, path + ("permissions",) + exc.key, exc.message) from None
    tasks = settings.get("tasks")
    if not tasks:
        raise _err(source, lines, path + ("tasks",) if "tasks" in job else path, "a job needs at least one task")
    clusters = set()
    for i, jc in enumerate(settings.get("job_clusters", [])):
        if not isinstance(jc, dict) or "job_cluster_key" not in jc or "new_cluster" not in jc:
            raise _err(source, lines, path + ("job_clusters", i), "needs job_cluster_key and new_cluster")
        clusters.add(jc["job_cluster_key"])
    envs = set()
    for i, env in enumerate(settings.get("environments", [])):
        if not isinstance(env, dict) or "environment_key" not in env:
            raise _err(source, lines, path + ("environments", i), "needs environment_key")
        envs.add(env["environment_key"])
    for i, p in enumerate(settings.get("parameters", [])):
        if not isinstance(p, dict) or "name" not in p or "default" not in p:
            raise _err(source, lines, path + ("parameters", i), "a job parameter needs name and default")
    sched = settings.get("schedule")
    if sched is not None and not sched.get("quartz_cron_expression"):
        raise _err(source, lines, path + ("schedule",), "needs quartz_cron_expression")
    if sched is not None:
        settings["schedule"] = {"timezone_id": "UTC", **sched}
    tags = settings.get("tags") or {}
    for k in OWNER_TAGS:
        if k in tags:
            raise _err(source, lines, path + ("tags", k), f"the tag {k} is set by mlops; remove it")
    settings["tags"] = {**{str(k): str(v) for k, v in tags.items()},
                        "mlops_project": config.project, "mlops_job_key": str(key)}

    seen: dict[str, int] = {}
    notebooks: dict[str, Path] = {}
    new_tasks = []
    for i, task in enumerate(tasks):
        tpath = path + ("tasks", i)
        _check_keys(task, _TASK_KEYS, tpath, lines, source, "a task")
        tk = task.get("task_key")
        if not tk:
            raise _err(source, lines, tpath, "missing required key 'task_key'")
        if tk in seen:
            raise _err(source, lines, tpath + ("task_key",), f"duplicate task_key {tk!r} (also tasks[{seen[tk]}])")
        seen[tk] = i
        kinds = [t for t in _TASK_TYPES if t in task]
        if len(kinds) != 1:
            raise _err(source, lines, tpath, "a task needs exactly one of " + ", ".join(_TASK_TYPES[:4]) + ", ...")
        if "run_if" in task and task["run_if"] not in _RUN_IF:
            raise _err(source, lines, tpath + ("run_if",), "expected one of " + ", ".join(_RUN_IF))
        task = dict(task)
        if "notebook_task" in task:
            nt = task["notebook_task"]
            npath = tpath + ("notebook_task",)
            _check_keys(nt, _NOTEBOOK_TASK_KEYS, npath, lines, source, "a notebook_task")
            rel = nt.get("notebook_path")
            if not rel:
                raise _err(source, lines, npath, "missing required key 'notebook_path'")
            nt = dict(nt)
            if nt.get("source", "WORKSPACE") == "GIT":
                pass  # git_source jobs keep the path as written
            else:
                rel = str(rel)
                if rel.startswith("/"):
                    back = from_file_path(config, target, rel, workspace_paths(config, target)["file_path"])
                    if back is None:
                        raise _err(source, lines, npath + ("notebook_path",),
                                   "give the path relative to this file or to the repository root, or under "
                                   "${workspace.file_path} (mlops rewrites it per target)")
                    found = find_file(config, back, None, files, NOTEBOOK_EXTS)
                else:
                    found = find_file(config, rel, source, files, NOTEBOOK_EXTS)
                if found is None:
                    raise _err(source, lines, npath + ("notebook_path",),
                               f"no notebook {rel!r} (looked from {source.parent.name or '.'}/ and the repository root)")
                notebooks[tk] = found
                try:
                    nt["notebook_path"] = remote_notebook_path(config, target, found, tracked=files.tracked)
                except ConfigError as exc:
                    raise _err(source, lines, npath + ("notebook_path",), exc.message) from None
            bp = nt.get("base_parameters")
            if bp is not None:
                nt["base_parameters"] = {str(k): "" if v is None else str(v) for k, v in bp.items()}
            task["notebook_task"] = nt
        try:
            task = rewrite_task_files(config, target, task, source, files)
        except ConfigError as exc:
            raise _err(source, lines, tpath + getattr(exc, "key", ()), exc.message) from None
        deps = task.get("depends_on", [])
        for j, d in enumerate(deps):
            if not isinstance(d, dict) or "task_key" not in d:
                raise _err(source, lines, tpath + ("depends_on", j), "expected {task_key: ...}")
        if task.get("job_cluster_key") and task["job_cluster_key"] not in clusters:
            raise _err(source, lines, tpath + ("job_cluster_key",),
                       f"no job cluster {task['job_cluster_key']!r} in job_clusters")
        if task.get("environment_key") and task["environment_key"] not in envs:
            raise _err(source, lines, tpath + ("environment_key",),
                       f"no environment {task['environment_key']!r} in environments")
        new_tasks.append(task)
    for i, task in enumerate(new_tasks):
        for j, d in enumerate(task.get("depends_on", [])):
            if d["task_key"] not in seen:
                raise _err(source, lines, path + ("tasks", i, "depends_on", j),
                           f"depends on unknown task {d['task_key']!r}")
    settings["tasks"] = new_tasks
    if settings.get("environments"):
        try:
            settings["environments"] = rewrite_environments(config, target, settings["environments"], source, files)
        except ConfigError as exc:
            raise _err(source, lines, path + getattr(exc, "key", ()), exc.message) from None
    definition = JobDefinition(str(key), settings, source, line_of(lines, path), notebooks, permissions)
    try:
        definition.task_order()
    except ValueError as exc:
        raise _err(source, lines, path + ("tasks",), f"task dependencies form a {exc}") from None
    if target.backend == "databricks":
        _apply_compute(settings, target.compute or {}, config)
    return definition


def _apply_compute(settings: dict, compute: dict, config) -> None:
    unknown = [k for k in compute if k not in _COMPUTE_KEYS]
    if unknown:
        raise ConfigError(f"targets.*.compute: unknown key {unknown[0]!r} (known: {', '.join(_COMPUTE_KEYS)})",
                          path=config.path)
    bare = [t for t in settings["tasks"]
            if not any(t.get(k) for k in ("job_cluster_key", "environment_key", "existing_cluster_id", "new_cluster"))
            and "condition_task" not in t and "run_job_task" not in t and "pipeline_task" not in t]
    if not bare:
        return
    if compute.get("existing_cluster_id"):
        for t in bare:
            t["existing_cluster_id"] = str(compute["existing_cluster_id"])
    elif compute.get("new_cluster") or compute.get("job_cluster"):
        spec = compute.get("new_cluster") or compute.get("job_cluster")
        clusters = settings.setdefault("job_clusters", [])
        if not any(c["job_cluster_key"] == "mlops_cluster" for c in clusters):
            clusters.append({"job_cluster_key": "mlops_cluster", "new_cluster": spec})
        for t in bare:
            t["job_cluster_key"] = "mlops_cluster"
    elif compute.get("environment"):
        envs = settings.setdefault("environments", [])
        if not any(e["environment_key"] == "mlops_env" for e in envs):
            envs.append({"environment_key": "mlops_env", "spec": compute["environment"]})
        for t in bare:
            if "notebook_task" not in t:  # notebooks on serverless take no environment
                t["environment_key"] = "mlops_env"
    # serverless: true -> tasks without compute run on serverless jobs compute
