"""What `mlops deploy` ships with the jobs, and how each task gets it: plain logic, no I/O.

An :class:`Artifact` is one wheel (the project's package, or the toolkit's own where it is not
taken from a package index), stored once per content hash under the target's ``artifacts.path``:
``<path>/<first 16 hex digits of its sha256>/<wheel file name>`` (the file name stays a valid
wheel name, which pip needs).

:func:`wire` adds the wheels and pinned requirements to job settings the way Databricks
documents it for each kind of compute:

* a task on a cluster (``job_cluster_key``, ``existing_cluster_id``, ``new_cluster``):
  task ``libraries`` (``{whl: path}``, ``{pypi: {package: "name==version"}}``);
* a non-notebook task on serverless (``environment_key``, or no compute at all): the job
  environment's ``spec.dependencies`` (a ``mlops_env`` environment is added when the task has none);
* a notebook task on serverless (no compute): job environments do not apply to notebook tasks,
  so the task gets the base parameter ``mlops_libraries`` (the requirements, space separated),
  which the toolkit's runtime API installs notebook-scoped once per task
  (:mod:`devops_mlops.kernel.libraries`).

Tasks that run no Python of ours (condition, run_job, pipeline, sql, dbt) are left alone.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

#: the notebook task parameter that carries what a serverless notebook installs
LIBRARIES_PARAM = "mlops_libraries"
#: the environment added for non-notebook serverless tasks that name none
ENV_KEY = "mlops_env"
ENV_VERSION = "2"
_CLUSTER_KEYS = ("job_cluster_key", "existing_cluster_id", "new_cluster")
_NO_PYTHON = ("condition_task", "run_job_task", "pipeline_task", "sql_task", "dbt_task", "for_each_task")


@dataclass
class Artifact:
    kind: str  # project | toolkit
    name: str
    version: str
    filename: str
    sha256: str
    size: int
    #: the built wheel on this machine
    local: str
    #: the path tasks install it from (/Volumes/... or /Workspace/...)
    remote: str
    #: upload (not there yet) | present (same hash already uploaded) | planned (dry run, not checked)
    op: str = "planned"

    def to_json(self) -> dict:
        return {"kind": self.kind, "name": self.name, "version": self.version, "file": self.filename,
                "sha256": self.sha256, "size": self.size, "path": self.remote, "op": self.op}


def is_volume(path: str) -> bool:
    return path.startswith("/Volumes/")


def library_path(location: str) -> str:
    """The artifacts folder as tasks see it: volumes as they are, workspace folders under /Workspace."""
    location = location.rstrip("/")
    if is_volume(location) or location.startswith("/Workspace/"):
        return location
    return "/Workspace" + location


def workspace_api_path(path: str) -> str:
    """A /Workspace/... path as the workspace API names it (without the /Workspace prefix)."""
    return path[len("/Workspace"):] if path.startswith("/Workspace/") else path


def remote_path(location: str, sha256: str, filename: str) -> str:
    return posixpath.join(library_path(location), sha256[:16], filename)


def requirements(artifacts: list[Artifact], toolkit_pin: str | None) -> list[str]:
    """Everything a task installs, as pip requirement strings (wheel paths and pins)."""
    out = [a.remote for a in artifacts]
    if toolkit_pin:
        out.append(toolkit_pin)
    return out


def compute_of(task: dict[str, Any]) -> str:
    """cluster | environment | serverless_notebook | serverless | none (runs no Python of ours)."""
    if any(k in task for k in _NO_PYTHON):
        return "none"
    if any(task.get(k) for k in _CLUSTER_KEYS):
        return "cluster"
    if task.get("environment_key"):
        return "environment"
    if "notebook_task" in task:
        return "serverless_notebook"
    return "serverless"


def _add_unique(items: list, new: list) -> list:
    for item in new:
        if item not in items:
            items.append(item)
    return items


def _library(req: str) -> dict[str, Any]:
    return {"whl": req} if req.endswith(".whl") else {"pypi": {"package": req}}


def wire(settings: dict[str, Any], reqs: list[str]) -> dict[str, int]:
    """Add ``reqs`` (wheel paths and pins) to every task of ``settings`` (changed in place).
    Returns how many tasks got each kind of wiring."""
    counts: dict[str, int] = {}
    if not reqs:
        return counts
    envs_used: set[str] = set()
    for task in settings.get("tasks", []):
        kind = compute_of(task)
        if kind == "cluster":
            task["libraries"] = _add_unique(list(task.get("libraries") or []), [_library(r) for r in reqs])
        elif kind == "serverless_notebook":
            nt = task["notebook_task"] = dict(task["notebook_task"])
            nt["base_parameters"] = {**(nt.get("base_parameters") or {}), LIBRARIES_PARAM: " ".join(reqs)}
        elif kind == "serverless":
            task["environment_key"] = ENV_KEY
            envs_used.add(ENV_KEY)
            kind = "environment"
        elif kind == "environment":
            envs_used.add(task["environment_key"])
        if kind != "none":
            counts[kind] = counts.get(kind, 0) + 1
    if envs_used:
        envs = settings.setdefault("environments", [])
        if ENV_KEY in envs_used and not any(e.get("environment_key") == ENV_KEY for e in envs):
            envs.append({"environment_key": ENV_KEY, "spec": {"environment_version": ENV_VERSION}})
        for env in envs:
            if env.get("environment_key") in envs_used:
                spec = env["spec"] = dict(env.get("spec") or {})
                if "client" not in spec and "environment_version" not in spec:
                    spec["environment_version"] = ENV_VERSION
                spec["dependencies"] = _add_unique(list(spec.get("dependencies") or []), reqs)
    return counts

