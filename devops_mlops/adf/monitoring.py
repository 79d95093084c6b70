"""The monitoring export: a monitoring pipeline that runs the check notebook and, when the metrics
are out of range, the retrain pipeline (:mod:`.retrain_pipeline`); and the schedule trigger that runs
the check on ``monitoring.schedule``. The notebooks of each step come from mlops.yaml
(``monitoring.<step>_notebook``) or, failing that, from a job task with a telling key.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..config import Config, Target
from ..errors import ConfigError, InputError
from .activities import after, expression, notebook_activity
from .resources import Export, resource_name
from .retrain_pipeline import IMPROVE_STEPS, add_retrain_pipeline
from .schedule import cron_to_recurrence

if TYPE_CHECKING:
    from ..core.jobdefs import JobDefinition

#: task keys that stand for a monitoring step when mlops.yaml names no notebook for it
STEP_TASK_KEYS = {
    "check": ("check", "monitor", "monitoring", "check_metrics"),
    "retrain": ("retrain", "retraining"),
    "register": ("register",),
    "promote": ("promote", "promotion"),
    "commit": ("commit", "auto_commit"),
    "score": ("score", "infer", "inference", "batch_inference"),
    "alert": ("alert",),
}


def _step_notebook(config: Config, target: Target, jobs: dict[str, JobDefinition], step: str,
                   tracked: frozenset[str] | None) -> str | None:
    """The workspace path of a monitoring step's notebook: mlops.yaml first, then the job definitions."""
    from ..core.jobdefs import NOTEBOOK_EXTS, remote_notebook_path

    key = f"{step}_notebook"
    rel = getattr(config.monitoring, key, None)
    if rel:
        base = config.root / rel
        found = base if base.is_file() else next(
            (base.with_name(base.name + e) for e in NOTEBOOK_EXTS if base.with_name(base.name + e).is_file()), None)
        if found is None:
            raise InputError(f"monitoring.{key}: no notebook {rel!r} in the repository", path=config.path)
        try:
            return remote_notebook_path(config, target, found, tracked=tracked)
        except ConfigError as exc:
            raise InputError(f"monitoring.{key}: {exc.message}", path=config.path, hint=exc.hint) from None
    for job in jobs.values():
        for task in job.settings["tasks"]:
            if task["task_key"] in STEP_TASK_KEYS[step] and "notebook_task" in task and task["task_key"] in job.notebooks:
                return task["notebook_task"]["notebook_path"]
    return None


def _monitoring_params(config: Config, target: Target) -> dict[str, str]:
    """The widgets every monitoring notebook receives (the contract of docs/adf.md)."""
    m = config.monitoring
    rules = [{"name": r.name, **({"min": r.min} if r.min is not None else {}),
              **({"max": r.max} if r.max is not None else {})} for r in m.metrics]
    return {"target": target.name, "model_name": config.model.name,
            "metrics": json.dumps(rules, separators=(",", ":")),
            "windows_evaluate": str(m.windows.evaluate), "windows_violations": str(m.windows.violations)}


def add_monitoring(config: Config, target: Target, jobs: dict[str, JobDefinition], exp: Export, linked: str, *,
                   tracked: frozenset[str] | None = None) -> None:
    """Add the monitoring export: the retrain pipeline, the monitoring pipeline that calls it when the
    check notebook finds a violation, and the trigger that runs the check on ``monitoring.schedule``."""
    m = config.monitoring
    prefix = target.adf.prefix
    if not m.metrics:
        raise ConfigError("monitoring.metrics: no thresholds; the monitoring pipeline checks metrics against "
                          "min/max thresholds (e.g. metrics: [{name: rmse, max: 12}])", path=config.path,
                          hint="or export without monitoring: mlops adf export --no-monitoring")
    for name in [config.model.name, *(r.name for r in m.metrics)]:
        if "violation" in name.lower():
            raise ConfigError(f"{name!r}: the pipelines decide on the word 'violation' in the check notebook's exit "
                              "value, so neither the model nor a monitoring metric may have it in its name",
                              path=config.path)
    nb = {step: _step_notebook(config, target, jobs, step, tracked) for step in STEP_TASK_KEYS}
    for step in ("check", "retrain"):
        if not nb[step]:
            raise ConfigError(f"monitoring.{step}_notebook: missing (and no job task named "
                              f"{' / '.join(STEP_TASK_KEYS[step])})", path=config.path)
    for step in IMPROVE_STEPS:
        if not nb[step]:
            exp.warnings.append(f"monitoring.{step}_notebook: not set and no job task {STEP_TASK_KEYS[step][0]!r}; "
                                f"the retrain pipeline has no {step} step")
    common = _monitoring_params(config, target)
    monitoring = resource_name(prefix, "monitor_model")
    retrain = resource_name(prefix, "retrain_model")
    add_retrain_pipeline(config, exp, retrain, nb, common, linked)
    _add_monitoring_pipeline(config, exp, monitoring, retrain, nb["check"], common, linked)
    _add_schedule_trigger(config, exp, resource_name(prefix, "monitor_model_schedule"), monitoring)


def _add_monitoring_pipeline(config: Config, exp: Export, name: str, retrain: str, check_notebook: str,
                             common: dict[str, str], linked: str) -> None:
    """Add the pipeline that runs the check notebook and, if out of range, the retrain pipeline; a secret
    Teams URL of the retrain pipeline is passed on as a SecureString parameter."""
    m = config.monitoring
    call_params = {"max_retrains": "@pipeline().parameters.max_retrains",
                   "check_output": "@string(activity('check').output.runOutput)"}
    secret_url = (retrain, "teams_webhook_url") in exp.secret_parameters
    if secret_url:
        call_params["teams_webhook_url"] = "@pipeline().parameters.teams_webhook_url"
    mon_params: dict[str, Any] = {"max_retrains": {"type": "Int", "defaultValue": m.max_retrains}}
    if secret_url:
        mon_params["teams_webhook_url"] = {"type": "SecureString"}
        exp.secret_parameters[(name, "teams_webhook_url")] = exp.secret_parameters[(retrain, "teams_webhook_url")]
    exp.add("pipeline", name, {
        "description": f"Check the monitoring metrics of {config.model.name}; retrain when out of range "
                       "(pipeline " + retrain + "). Generated by mlops.",
        "activities": [
            notebook_activity("check", check_notebook, linked, {**common, "mode": "check"}),
            {"name": "out_of_range", "type": "IfCondition", "dependsOn": after("check"), "userProperties": [],
             "typeProperties": {
                 "expression": expression("@contains(toLower(string(activity('check').output.runOutput)), 'violation')"),
                 "ifTrueActivities": [{
                     "name": "run_retrain", "type": "ExecutePipeline", "dependsOn": [], "userProperties": [],
                     "typeProperties": {"pipeline": {"referenceName": retrain, "type": "PipelineReference"},
                                        "waitOnCompletion": True, "parameters": call_params}}]}},
        ],
        "parameters": mon_params,
        "annotations": ["mlops", f"mlops_project:{config.project}", "mlops_monitoring"],
        "folder": {"name": f"mlops/{config.project}"}})


def _add_schedule_trigger(config: Config, exp: Export, name: str, monitoring: str) -> None:
    """Add the trigger that starts the monitoring pipeline on ``monitoring.schedule`` (UTC)."""
    m = config.monitoring
    exp.add("trigger", name, {
        "type": "ScheduleTrigger",
        "description": f"monitoring.schedule {m.schedule!r} (UTC), generated by mlops",
        "annotations": ["mlops", f"mlops_project:{config.project}"],
        "runtimeState": "Started",
        "pipelines": [{"pipelineReference": {"referenceName": monitoring, "type": "PipelineReference"},
                       "parameters": {}}],
        "typeProperties": {"recurrence": cron_to_recurrence(m.schedule)},
    })
