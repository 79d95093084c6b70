"""Pure generation: job definitions + monitoring config -> Data Factory resources (plain JSON dicts).

The JSON is written by hand, in the shape the Data Factory Git integration stores
(``{"name", "type"?, "properties": {...}}``), because azure-mgmt-datafactory 10.0.0
serializes its models with base-class type names (``Execution``, ``Container``,
``MultiplePipelineTrigger``) and drops the linked service's ``type``.

Contract with the notebooks (docs/adf.md): every monitoring notebook receives ``target``
(the exported target's name), ``model_name``, ``metrics``, ``windows_evaluate`` and
``windows_violations``. The check notebook exits (``dbutils.notebook.exit``) with a
value containing ``violation`` exactly when the metrics are out of range; the retrain
notebook's exit value (the candidate: a model URI, or a JSON document carrying one) is
passed on as the ``candidate`` widget; the re-check (the check notebook with
``mode=recheck``) exits without ``violation`` when the candidate is good enough.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import console
from ..errors import ConfigError, InputError
from .schedule import cron_to_recurrence

TYPES = {"pipeline": "Microsoft.DataFactory/factories/pipelines",
         "linkedService": "Microsoft.DataFactory/factories/linkedservices",
         "trigger": "Microsoft.DataFactory/factories/triggers"}
NOTEBOOK_TIMEOUT = "0.12:00:00"
UNTIL_TIMEOUT = "1.00:00:00"
_NAME_BAD = re.compile(r"[^A-Za-z0-9_\-]")
_DYN = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")
_DYN_MAP = {"job.run_id": "pipeline().RunId", "job.id": "pipeline().Pipeline", "job.name": "pipeline().Pipeline",
            "job.start_time.iso_datetime": "pipeline().TriggerTime",
            "job.trigger.time.iso_datetime": "pipeline().TriggerTime"}
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
_RUN_IF = {"ALL_SUCCESS": ["Succeeded"], "ALL_DONE": ["Completed"], "ALL_FAILED": ["Failed"],
           "NONE_FAILED": ["Succeeded", "Skipped"]}


@dataclass
class Export:
    """What was generated: resources by kind and name (each the Git-integration JSON document)."""

    resources: dict[str, dict[str, dict]] = field(default_factory=lambda: {k: {} for k in TYPES})
    #: linked services referenced but not generated (the Key Vault one): must exist in the factory
    external_linked_services: set[str] = field(default_factory=set)
    #: (pipeline, parameter) -> the secret default, kept out of exported files (ARM: a securestring parameter)
    secret_parameters: dict[tuple[str, str], str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    workspace_url: str = ""
    workspace_resource_id: str | None = None
    linked_service: str = ""

    def add(self, kind: str, name: str, properties: dict) -> None:
        if name in self.resources[kind]:
            raise InputError(f"two generated {kind} resources are named {name!r} (rename a job key, or set adf.prefix)")
        self.resources[kind][name] = {"name": name, "type": TYPES[kind], "properties": properties}

    def names(self) -> list[tuple[str, str]]:
        return [(k, n) for k in TYPES for n in self.resources[k]]


def resource_name(prefix: str, key: str) -> str:
    return _NAME_BAD.sub("_", f"{prefix}{key}")[:140]


def _ref(name: str) -> dict:
    return {"referenceName": name, "type": "LinkedServiceReference"}


def _expr(value: str) -> dict:
    return {"value": value, "type": "Expression"}


def _literal(value: str) -> str:
    """A literal string for a Data Factory property: a leading '@' is escaped as '@@'."""
    return "@" + value if value.startswith("@") else value


def _timeout(seconds: int | None) -> str:
    if not seconds:
        return NOTEBOOK_TIMEOUT
    days, rest = divmod(int(seconds), 86400)
    days = min(days, 7)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return f"{days}.{h:02d}:{m:02d}:{s:02d}"


def notebook_activity(name: str, path: str, linked_service: str, params: dict[str, str],
                      depends: list[dict] | None = None, *, timeout: str = NOTEBOOK_TIMEOUT,
                      retry: int = 0, retry_interval: int = 30) -> dict:
    return {
        "name": name,
        "type": "DatabricksNotebook",
        "dependsOn": depends or [],
        "policy": {"timeout": timeout, "retry": retry, "retryIntervalInSeconds": retry_interval,
                   "secureOutput": False, "secureInput": False},
        "userProperties": [],
        "typeProperties": {"notebookPath": path, "baseParameters": params},
        "linkedServiceName": _ref(linked_service),
    }


def after(*names: str, conditions: tuple[str, ...] = ("Succeeded",)) -> list[dict]:
    return [{"activity": n, "dependencyConditions": list(conditions)} for n in names]


# ------------------------------------------------------------------ linked service
def linked_service(config, target, exp: Export) -> str:
    adf = target.adf
    where = f"targets.{target.name}"
    name = resource_name(adf.prefix, "databricks")
    if target.backend != "databricks":
        raise ConfigError(f"{where}: Data Factory runs notebooks on Databricks; target {target.name!r} has backend "
                          f"{target.backend!r}, so nothing is synced where Data Factory can run it",
                          path=config.path, hint="choose a target with backend: databricks (--target NAME)")
    if not target.host:
        raise ConfigError(f"{where}.host: missing (the workspace URL the Databricks linked service points at)",
                          path=config.path)
    tp: dict[str, Any] = {"domain": target.host.rstrip("/")}
    exp.workspace_url = tp["domain"]
    if adf.workspace_resource_id and (adf.key_vault_linked_service or adf.token_secret_name):
        raise ConfigError(f"{where}.adf: give workspace_resource_id (managed identity) or key_vault_linked_service "
                          "+ token_secret_name (access token from Key Vault), not both", path=config.path)
    if adf.workspace_resource_id:
        tp["authentication"] = "MSI"
        tp["workspaceResourceId"] = adf.workspace_resource_id
        exp.workspace_resource_id = adf.workspace_resource_id
    elif adf.key_vault_linked_service and adf.token_secret_name:
        tp["accessToken"] = {"type": "AzureKeyVaultSecret", "store": _ref(adf.key_vault_linked_service),
                             "secretName": adf.token_secret_name}
        exp.external_linked_services.add(adf.key_vault_linked_service)
    else:
        missing = "key_vault_linked_service" if adf.token_secret_name else (
            "token_secret_name" if adf.key_vault_linked_service else "workspace_resource_id")
        raise ConfigError(f"{where}.adf.{missing}: missing; the Databricks linked service authenticates with the "
                          "factory's managed identity (workspace_resource_id) or a token read from Key Vault "
                          "(key_vault_linked_service + token_secret_name), never a literal token", path=config.path)
    compute = target.compute or {}
    cluster = adf.existing_cluster_id or compute.get("existing_cluster_id")
    spec = compute.get("new_cluster") or compute.get("job_cluster")
    if cluster:
        tp["existingClusterId"] = str(cluster)
    elif isinstance(spec, dict) and spec.get("spark_version"):
        tp["newClusterVersion"] = spec["spark_version"]
        if spec.get("node_type_id"):
            tp["newClusterNodeType"] = spec["node_type_id"]
        if spec.get("driver_node_type_id"):
            tp["newClusterDriverNodeType"] = spec["driver_node_type_id"]
        auto = spec.get("autoscale") or {}
        workers = f"{auto['min_workers']}:{auto['max_workers']}" if auto else str(spec.get("num_workers", 1))
        tp["newClusterNumOfWorker"] = workers
        for src, dst in (("spark_conf", "newClusterSparkConf"), ("spark_env_vars", "newClusterSparkEnvVars"),
                         ("custom_tags", "newClusterCustomTags")):
            if spec.get(src):
                tp[dst] = {str(k): str(v) for k, v in spec[src].items()}
        if spec.get("policy_id"):
            tp["policyId"] = spec["policy_id"]
    else:
        raise ConfigError(f"{where}.adf.existing_cluster_id: missing; Data Factory's Databricks notebook activity "
                          "runs on a cluster (serverless is not available to it): set adf.existing_cluster_id, or "
                          "compute.existing_cluster_id / compute.new_cluster on the target", path=config.path)
    exp.add("linkedService", name, {
        "type": "AzureDatabricks",
        "annotations": ["mlops", f"mlops_project:{config.project}"],
        "description": f"Databricks workspace of target {target.name} ({config.project}), generated by mlops",
        "typeProperties": tp,
    })
    exp.linked_service = name
    return name


# ------------------------------------------------------------------ job pipelines
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
        return _literal(value)
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


def add_job_pipeline(config, target, job, exp: Export, linked: str) -> str:
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
            timeout=_timeout(task.get("timeout_seconds")), retry=retries, retry_interval=min(interval, 86400)))
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


# ------------------------------------------------------------------ monitoring
def _step_notebook(config, target, jobs, step: str) -> str | None:
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
            return remote_notebook_path(config, target, found)
        except ConfigError as exc:
            raise InputError(f"monitoring.{key}: {exc.message}", path=config.path, hint=exc.hint) from None
    for job in jobs.values():
        for task in job.settings["tasks"]:
            if task["task_key"] in STEP_TASK_KEYS[step] and "notebook_task" in task and task["task_key"] in job.notebooks:
                return task["notebook_task"]["notebook_path"]
    return None


def _monitoring_params(config, target) -> dict[str, str]:
    m = config.monitoring
    rules = [{"name": r.name, **({"min": r.min} if r.min is not None else {}),
              **({"max": r.max} if r.max is not None else {})} for r in m.metrics]
    return {"target": target.name, "model_name": config.model.name,
            "metrics": json.dumps(rules, separators=(",", ":")),
            "windows_evaluate": str(m.windows.evaluate), "windows_violations": str(m.windows.violations)}


def _teams_card(config) -> str:
    text = (f"Model {config.model.name} needs retraining: @{{variables('tries')}} retraining tries did not bring "
            f"the monitoring metrics back in range. Data Factory @{{pipeline().DataFactory}}, pipeline "
            f"@{{pipeline().Pipeline}}, run @{{pipeline().RunId}}.")
    card = {"type": "message", "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive",
        "content": {"type": "AdaptiveCard", "version": "1.4",
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "body": [{"type": "TextBlock", "size": "Medium", "weight": "Bolder",
                              "text": f"{config.project}: model needs retraining"},
                             {"type": "TextBlock", "wrap": True, "text": text}]}}]}
    return json.dumps(card, separators=(",", ":"))


def add_monitoring(config, target, jobs, exp: Export, linked: str) -> None:
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
    nb = {step: _step_notebook(config, target, jobs, step) for step in STEP_TASK_KEYS}
    for step in ("check", "retrain"):
        if not nb[step]:
            raise ConfigError(f"monitoring.{step}_notebook: missing (and no job task named "
                              f"{' / '.join(STEP_TASK_KEYS[step])})", path=config.path)
    for step in ("register", "promote", "commit", "score"):
        if not nb[step]:
            exp.warnings.append(f"monitoring.{step}_notebook: not set and no job task {STEP_TASK_KEYS[step][0]!r}; "
                                f"the retrain pipeline has no {step} step")
    common = _monitoring_params(config, target)
    monitoring = resource_name(prefix, "monitor_model")
    retrain = resource_name(prefix, "retrain_model")
    trigger = resource_name(prefix, "monitor_model_schedule")

    # ---- retrain pipeline: the bounded loop, then improve or alert
    loop = [
        {"name": "next_try", "type": "SetVariable", "dependsOn": [], "userProperties": [],
         "typeProperties": {"variableName": "tries_next", "value": _expr("@string(add(int(variables('tries')), 1))")}},
        {"name": "count_try", "type": "SetVariable", "dependsOn": after("next_try"), "userProperties": [],
         "typeProperties": {"variableName": "tries", "value": _expr("@variables('tries_next')")}},
        notebook_activity("retrain", nb["retrain"], linked,
                          {**common, "attempt": "@variables('tries')",
                           "max_retrains": "@string(pipeline().parameters.max_retrains)"}, after("count_try")),
        notebook_activity("recheck", nb["check"], linked,
                          {**common, "mode": "recheck", "attempt": "@variables('tries')",
                           "candidate": "@string(activity('retrain').output.runOutput)"}, after("retrain")),
        {"name": "keep_candidate", "type": "SetVariable", "dependsOn": after("recheck"), "userProperties": [],
         "typeProperties": {"variableName": "candidate", "value": _expr("@string(activity('retrain').output.runOutput)")}},
        {"name": "set_improved", "type": "SetVariable", "dependsOn": after("keep_candidate"), "userProperties": [],
         "typeProperties": {"variableName": "improved", "value": _expr(
             "@not(contains(toLower(string(activity('recheck').output.runOutput)), 'violation'))")}},
    ]
    improve: list[dict] = []
    for step in ("register", "promote", "commit", "score"):
        if nb[step]:
            improve.append(notebook_activity(step, nb[step], linked,
                                             {**common, "candidate": "@variables('candidate')",
                                              "attempt": "@variables('tries')"},
                                             after(improve[-1]["name"]) if improve else []))
    alert: list[dict] = []
    params: dict[str, Any] = {"max_retrains": {"type": "Int", "defaultValue": m.max_retrains},
                              "check_output": {"type": "String", "defaultValue": ""}}
    teams = [a for a in config.alerts if a.kind == "teams" and a.url]
    if teams:
        url = teams[0].url
        if console.mask(url) != url:  # came from an ${ENV} reference: a secret, kept out of the files
            params["teams_webhook_url"] = {"type": "SecureString"}
            exp.secret_parameters[(retrain, "teams_webhook_url")] = url
            url_value: Any = _expr("@pipeline().parameters.teams_webhook_url")
        else:
            url_value = url
        alert.append({"name": "alert_teams", "type": "WebActivity", "dependsOn": [], "userProperties": [],
                      "policy": {"timeout": "0.00:05:00", "retry": 2, "retryIntervalInSeconds": 30,
                                 "secureOutput": False, "secureInput": True},
                      "typeProperties": {"method": "POST", "url": url_value,
                                         "headers": {"Content-Type": "application/json"},
                                         "body": _expr(_teams_card(config))}})
    if nb["alert"]:
        alert.append(notebook_activity("alert", nb["alert"], linked,
                                       {**common, "attempts": "@variables('tries')",
                                        "check_output": "@pipeline().parameters.check_output"}))
    if not alert and m.warn_only:
        exp.warnings.append("no Teams alert and no monitoring.alert_notebook: with warn_only the retrain pipeline "
                            "ends quietly when no try helps")
    if not m.warn_only:
        alert.append({"name": "needs_retraining", "type": "Fail", "userProperties": [],
                      "dependsOn": after(*[a["name"] for a in alert], conditions=("Completed",)),
                      "typeProperties": {"message": _expr(
                          f"@concat('model {config.model.name} needs retraining: ', variables('tries'), "
                          f"' tries did not bring the metrics back in range')"), "errorCode": "MLOPS_NEEDS_RETRAINING"}})
    if m.max_retrains > 0:
        activities = [
            {"name": "retrain_loop", "type": "Until", "dependsOn": [], "userProperties": [],
             "typeProperties": {"expression": _expr(
                 "@or(variables('improved'), greaterOrEquals(int(variables('tries')), pipeline().parameters.max_retrains))"),
                 "timeout": UNTIL_TIMEOUT, "activities": loop}},
            {"name": "if_improved", "type": "IfCondition", "dependsOn": after("retrain_loop"), "userProperties": [],
             "typeProperties": {"expression": _expr("@variables('improved')"),
                                **({"ifTrueActivities": improve} if improve else {}),
                                **({"ifFalseActivities": alert} if alert else {})}},
        ]
        variables = {"tries": {"type": "String", "defaultValue": "0"},
                     "tries_next": {"type": "String", "defaultValue": "0"},
                     "improved": {"type": "Bool", "defaultValue": False},
                     "candidate": {"type": "String", "defaultValue": ""}}
    else:  # no tries allowed: straight to the alert
        activities = alert or [{"name": "no_retrain", "type": "Wait", "dependsOn": [], "userProperties": [],
                                "typeProperties": {"waitTimeInSeconds": 1}}]
        for a in activities:
            if a["name"] == "needs_retraining":
                a["dependsOn"] = after(*[x["name"] for x in activities if x is not a], conditions=("Completed",))
        variables = {"tries": {"type": "String", "defaultValue": "0"}}
    exp.add("pipeline", retrain, {
        "description": f"Retrain {config.model.name} at most {m.max_retrains} times until the metrics are back in "
                       "range; then register, promote, commit and score, or alert. Generated by mlops.",
        "activities": activities, "parameters": params, "variables": variables,
        "annotations": ["mlops", f"mlops_project:{config.project}", "mlops_monitoring"],
        "folder": {"name": f"mlops/{config.project}"}})

    # ---- monitoring pipeline: check, and if out of range call the retrain pipeline
    call_params = {"max_retrains": "@pipeline().parameters.max_retrains",
                   "check_output": "@string(activity('check').output.runOutput)"}
    if "teams_webhook_url" in params:
        call_params["teams_webhook_url"] = "@pipeline().parameters.teams_webhook_url"
    mon_params: dict[str, Any] = {"max_retrains": {"type": "Int", "defaultValue": m.max_retrains}}
    if "teams_webhook_url" in params:
        mon_params["teams_webhook_url"] = {"type": "SecureString"}
        exp.secret_parameters[(monitoring, "teams_webhook_url")] = exp.secret_parameters[(retrain, "teams_webhook_url")]
    exp.add("pipeline", monitoring, {
        "description": f"Check the monitoring metrics of {config.model.name}; retrain when out of range "
                       "(pipeline " + retrain + "). Generated by mlops.",
        "activities": [
            notebook_activity("check", nb["check"], linked, {**common, "mode": "check"}),
            {"name": "out_of_range", "type": "IfCondition", "dependsOn": after("check"), "userProperties": [],
             "typeProperties": {
                 "expression": _expr("@contains(toLower(string(activity('check').output.runOutput)), 'violation')"),
                 "ifTrueActivities": [{
                     "name": "run_retrain", "type": "ExecutePipeline", "dependsOn": [], "userProperties": [],
                     "typeProperties": {"pipeline": {"referenceName": retrain, "type": "PipelineReference"},
                                        "waitOnCompletion": True, "parameters": call_params}}]}},
        ],
        "parameters": mon_params,
        "annotations": ["mlops", f"mlops_project:{config.project}", "mlops_monitoring"],
        "folder": {"name": f"mlops/{config.project}"}})

    # ---- schedule trigger
    exp.add("trigger", trigger, {
        "type": "ScheduleTrigger",
        "description": f"monitoring.schedule {m.schedule!r} (UTC), generated by mlops",
        "annotations": ["mlops", f"mlops_project:{config.project}"],
        "runtimeState": "Started",
        "pipelines": [{"pipelineReference": {"referenceName": monitoring, "type": "PipelineReference"},
                       "parameters": {}}],
        "typeProperties": {"recurrence": cron_to_recurrence(m.schedule)},
    })


# ------------------------------------------------------------------ entry
def build_export(config, target, jobs: dict | None = None, *, monitoring: bool = True) -> Export:
    """Everything for ``target``. ``jobs``: from ``load_job_definitions`` (loaded when None)."""
    if jobs is None:
        from ..core.jobdefs import load_job_definitions

        jobs = load_job_definitions(config, target)
    exp = Export()
    linked = linked_service(config, target, exp)
    for job in jobs.values():
        add_job_pipeline(config, target, job, exp, linked)
    if monitoring:
        add_monitoring(config, target, jobs, exp, linked)
    if not exp.resources["pipeline"]:
        raise InputError(f"nothing to export: no job definitions in {config.jobs!r} and monitoring is off")
    return exp
