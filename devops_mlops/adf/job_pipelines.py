"""A Databricks job (from the job definitions) as a Data Factory pipeline of notebook activities."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Config, Target
from ..errors import InputError
from .activities import after, literal, notebook_activity, timeout
from .resources import Export, resource_name

if TYPE_CHECKING:
    from ..core.jobdefs import JobDefinition

_DYN = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")
_DYN_MAP = {"job.run_id": "pipeline().RunId", "job.id": "pipeline().Pipeline", "job.name": "pipeline().Pipeline",
            "job.start_time.iso_datetime": "pipeline().TriggerTime",
            "job.trigger.time.iso_datetime": "pipeline().TriggerTime"}
_RUN_IF = {"ALL_SUCCESS": ["Succeeded"], "ALL_DONE": ["Completed"], "ALL_FAILED": ["Failed"],
           "NONE_FAILED": ["Succeeded", "Skipped"]}


def _translate(value: str, job_params: set[str], where: str, exp: Export) -> str:
    """A Databricks parameter value -> a Data Factory one ({{job.parameters.x}} -> pipeline parameters)."""

    def expr_of(ref: str) -> str | None:
        if ref.startswith("job.parameters."):
            name = ref[len("job.parameters."):]
            if name not in job_params:
                raise InputError(f"{where}: {{{{{ref}}}}} names no parameter of the job")
            return f"pipeline().parameters.{name}"
        return _DYN_MAP.get(ref)

    refs = _DYN.findall(value)
    if not refs:
        return literal(value)
    whole = _DYN.fullmatch(value.strip())
    if whole and expr_of(whole.group(1)):
        return "@" + expr_of(whole.group(1))

    def repl(m: re.Match) -> str:
        e = expr_of(m.group(1))
        if e is None:
            exp.warnings.append(f"{where}: {{{{{m.group(1)}}}}} has no Data Factory equivalent; passed literally")
            return m.group(0)
        return "@{" + e + "}"

    out = _DYN.sub(repl, value)
    return "@" + out if out.startswith("@") and not out.startswith("@{") else out


def add_job_pipeline(config: Config, target: Target, job: JobDefinition, exp: Export, linked: str) -> str:
    """Add the pipeline of one Databricks job and return its name: an activity per notebook task, in the
    job's task order, with its dependencies, run_if, retries and timeout; the job's parameters become the
    pipeline's. A task Data Factory cannot run (not a synced notebook) is an InputError."""
    settings = job.settings
    name = resource_name(target.adf.prefix, job.key)
    where_job = f"{job.source}: resources.jobs.{job.key}"
    params = {str(p["name"]): p.get("default") for p in settings.get("parameters") or []}
    by_key = {t["task_key"]: t for t in settings["tasks"]}
    activities = []
    for tk in job.task_order():
        task = by_key[tk]
        where = f"{where_job}.tasks.{tk}"
        if "notebook_task" not in task:
            kind = next((k for k in task if k.endswith("_task")), "task")
            raise InputError(f"{where}: a {kind}; the Data Factory export runs notebook tasks only")
        nt = task["notebook_task"]
        if nt.get("source") == "GIT" or tk not in job.notebooks:
            raise InputError(f"{where}: notebook {nt.get('notebook_path')!r} is not synced to the workspace "
                             "(a git_source task); Data Factory runs only synced notebooks",
                             hint="drop source: GIT and let mlops sync put the notebook on the target")
        path = nt["notebook_path"]
        if not str(path).startswith("/"):
            raise InputError(f"{where}: notebook {path!r} has no workspace path on target {target.name!r}")
        if len(tk) > 55:
            raise InputError(f"{where}: task_key longer than 55 characters, the Data Factory limit for activity names")
        base = {str(k): _translate(str(v), set(params), where, exp)
                for k, v in (nt.get("base_parameters") or {}).items()}
        for p in params:  # job parameters reach every task and win over task parameters, as in Databricks
            base[p] = f"@pipeline().parameters.{p}"
        deps = task.get("depends_on") or []
        run_if = task.get("run_if", "ALL_SUCCESS")
        if run_if not in _RUN_IF and not (len(deps) == 1 and run_if in ("AT_LEAST_ONE_SUCCESS", "AT_LEAST_ONE_FAILED")):
            raise InputError(f"{where}: run_if {run_if} over several tasks has no Data Factory equivalent "
                             "(Data Factory ANDs dependencies)")
        conds = _RUN_IF.get(run_if) or (["Succeeded"] if run_if == "AT_LEAST_ONE_SUCCESS" else ["Failed"])
        retries = max(0, int(task.get("max_retries") or 0))
        interval = max(30, int((task.get("min_retry_interval_millis") or 0) / 1000))
        activities.append(notebook_activity(
            tk, path, linked, base, after(*[d["task_key"] for d in deps], conditions=tuple(conds)),
            timeout=timeout(task.get("timeout_seconds")), retry=retries, retry_interval=min(interval, 86400)))
    props: dict[str, Any] = {
        "description": settings.get("description") or f"Databricks job {job.key!r} ({settings.get('name')}), "
                                                        f"generated by mlops from {Path(job.source).name}",
        "activities": activities,
        "parameters": {p: {"type": "String", "defaultValue": "" if v is None else str(v)} for p, v in params.items()},
        "annotations": ["mlops", f"mlops_project:{config.project}", f"mlops_job_key:{job.key}"],
        "folder": {"name": f"mlops/{config.project}"},
    }
    if settings.get("max_concurrent_runs"):
        props["concurrency"] = int(settings["max_concurrent_runs"])
    if settings.get("schedule"):
        exp.warnings.append(f"{where_job}: the job's Databricks schedule is not exported as a Data Factory trigger")
    exp.add("pipeline", name, props)
    return name
