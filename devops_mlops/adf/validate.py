"""Data Factory's rules, checked over the generated JSON itself (not over our intentions).

``validate(resources)`` returns a list of :class:`Problem`; an empty list means the
pipelines, linked services and triggers:

* carry real Data Factory type names (never the SDK base classes ``Execution``,
  ``Container``, ``MultiplePipelineTrigger``), and linked services carry a type;
* respect the nesting limits: an ``IfCondition`` or ``Switch`` holds no ``Until``,
  ``ForEach``, ``IfCondition`` or ``Switch``; an ``Until`` or ``ForEach`` holds no
  ``Until`` or ``ForEach`` at any depth; at most 80 activities per pipeline
  (inner ones included);
* name activities uniquely per pipeline (55 characters at most) and make ``dependsOn``
  point at siblings in the same container, without cycles;
* set only declared variables, never with an expression that reads the variable
  being set (Data Factory rejects it: use a second, temporary variable);
* read only declared variables and pipeline parameters, and only activities that exist;
* reference pipelines and linked services that exist (in the export or ``external``);
* hold no literal Databricks token (``accessToken`` must be a Key Vault secret reference).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

ACTIVITY_TYPES = {
    "DatabricksNotebook", "DatabricksSparkPython", "DatabricksSparkJar", "IfCondition", "Switch", "Until",
    "ForEach", "ExecutePipeline", "SetVariable", "AppendVariable", "WebActivity", "WebHook", "Wait", "Fail",
    "Filter", "Lookup", "Copy", "Validation", "GetMetadata",
}
CONTAINERS = {"IfCondition", "Switch", "Until", "ForEach"}
LOOPS = {"Until", "ForEach"}
BRANCHES = {"IfCondition", "Switch"}
BASE_CLASS_NAMES = {"Activity", "Execution", "Container", "ControlActivity", "ExecutionActivity",
                    "MultiplePipelineTrigger", "Trigger", "LinkedService"}
TRIGGER_TYPES = {"ScheduleTrigger", "TumblingWindowTrigger", "BlobEventsTrigger", "CustomEventsTrigger"}
CONDITIONS = {"Succeeded", "Failed", "Skipped", "Completed"}
MAX_ACTIVITIES = 80
MAX_ACTIVITY_NAME = 55
_ACTIVITY_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\- ]*$")
_VAR_REF = re.compile(r"variables\('([^']+)'\)")
_PARAM_REF = re.compile(r"pipeline\(\)\.parameters\.([A-Za-z0-9_]+)")
_ACT_REF = re.compile(r"activity\('([^']+)'\)")
_TOKEN_LIKE = re.compile(r"\bdapi[0-9a-f]{32}\b")


@dataclass
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def children(activity: dict) -> Iterator[tuple[str, list[dict]]]:
    """(label, activities) of each container an activity holds."""
    tp = activity.get("typeProperties") or {}
    kind = activity.get("type")
    if kind == "IfCondition":
        for key in ("ifTrueActivities", "ifFalseActivities"):
            if tp.get(key):
                yield key, tp[key]
    elif kind == "Switch":
        for case in tp.get("cases") or []:
            yield f"cases[{case.get('value')}]", case.get("activities") or []
        if tp.get("defaultActivities"):
            yield "defaultActivities", tp["defaultActivities"]
    elif kind in LOOPS:
        yield "activities", tp.get("activities") or []


def walk(activities: list[dict], path: str = "") -> Iterator[tuple[str, dict, list[str]]]:
    """Every activity at any depth: (path, activity, types of its enclosing containers)."""

    def rec(acts: list[dict], prefix: str, outer: list[str]):
        for act in acts:
            here = f"{prefix}/{act.get('name')}"
            yield here, act, outer
            for label, inner in children(act):
                yield from rec(inner, f"{here}.{label}", outer + [act.get("type")])

    yield from rec(activities, path, [])


def _strings(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def _own_strings(activity: dict) -> Iterator[str]:
    """The strings of an activity without those of the activities it contains."""
    tp = {k: v for k, v in (activity.get("typeProperties") or {}).items()
          if k not in ("activities", "ifTrueActivities", "ifFalseActivities", "cases", "defaultActivities")}
    yield from _strings(tp)


def _check_container(acts: list[dict], where: str, problems: list[Problem]) -> None:
    names = [a.get("name") for a in acts]
    deps = {}
    for act in acts:
        here = f"{where}/{act.get('name')}"
        deps[act.get("name")] = []
        for dep in act.get("dependsOn") or []:
            target = dep.get("activity")
            if target not in names:
                problems.append(Problem(here, f"dependsOn {target!r}, which is not an activity of the same container"))
            conds = dep.get("dependencyConditions") or []
            if not conds or any(c not in CONDITIONS for c in conds):
                problems.append(Problem(here, f"dependencyConditions {conds!r} (allowed: {sorted(CONDITIONS)})"))
            deps[act.get("name")].append(target)
    # cycles
    state: dict[str, int] = {}

    def visit(n: str) -> bool:
        if state.get(n) == 1:
            return True
        if state.get(n) == 2:
            return False
        state[n] = 1
        if any(visit(d) for d in deps.get(n, []) if d in deps):
            return True
        state[n] = 2
        return False

    for n in deps:
        if visit(n):
            problems.append(Problem(f"{where}/{n}", "dependsOn forms a cycle"))
            break


def validate_pipeline(name: str, doc: dict, *, pipelines: set[str], linked_services: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    where = f"pipeline/{name}"
    props = doc.get("properties")
    if not isinstance(props, dict):
        return [Problem(where, "no properties")]
    activities = props.get("activities") or []
    variables = props.get("variables") or {}
    parameters = props.get("parameters") or {}
    all_acts = list(walk(activities, where))
    if not activities:
        problems.append(Problem(where, "a pipeline needs at least one activity"))
    if len(all_acts) > MAX_ACTIVITIES:
        problems.append(Problem(where, f"{len(all_acts)} activities; Data Factory allows {MAX_ACTIVITIES} per pipeline"))
    seen: dict[str, str] = {}
    act_names = {a.get("name") for _, a, _ in all_acts}
    _check_container(activities, where, problems)
    for path, act, outer in all_acts:
        kind = act.get("type")
        aname = act.get("name") or ""
        if kind in BASE_CLASS_NAMES or kind not in ACTIVITY_TYPES:
            problems.append(Problem(path, f"type {kind!r} is not a Data Factory activity type"))
        if aname in seen:
            problems.append(Problem(path, f"activity name {aname!r} is used twice in the pipeline"))
        seen[aname] = path
        if len(aname) > MAX_ACTIVITY_NAME or not _ACTIVITY_NAME.match(aname):
            problems.append(Problem(path, f"activity name {aname!r}: at most {MAX_ACTIVITY_NAME} letters, digits, '_', '-' or spaces"))
        if kind in CONTAINERS:
            if any(o in BRANCHES for o in outer):
                problems.append(Problem(path, f"a {kind} cannot be inside an IfCondition or Switch"))
            if kind in LOOPS and any(o in LOOPS for o in outer):
                problems.append(Problem(path, f"a {kind} cannot be inside an Until or ForEach"))
            for label, inner in children(act):
                _check_container(inner, f"{path}.{label}", problems)
        tp = act.get("typeProperties") or {}
        if kind == "Until":
            expr = tp.get("expression") or {}
            if expr.get("type") != "Expression" or not str(expr.get("value", "")).startswith("@"):
                problems.append(Problem(path, "an Until needs an expression {value: '@...', type: Expression}"))
            if tp.get("timeout") and not re.match(r"^\d+\.\d{2}:\d{2}:\d{2}$", tp["timeout"]):
                problems.append(Problem(path, f"timeout {tp['timeout']!r} is not d.hh:mm:ss"))
        if kind == "IfCondition":
            expr = tp.get("expression") or {}
            if expr.get("type") != "Expression" or not str(expr.get("value", "")).startswith("@"):
                problems.append(Problem(path, "an IfCondition needs an expression {value: '@...', type: Expression}"))
        if kind == "SetVariable":
            var = tp.get("variableName")
            if var not in variables:
                problems.append(Problem(path, f"sets undeclared variable {var!r}"))
            if var in set(_VAR_REF.findall(" ".join(_strings(tp.get("value"))))):
                problems.append(Problem(path, f"the value of {var!r} reads {var!r} itself; use a temporary variable"))
        if kind == "ExecutePipeline":
            ref = (tp.get("pipeline") or {}).get("referenceName")
            if ref not in pipelines:
                problems.append(Problem(path, f"executes unknown pipeline {ref!r}"))
            if ref == name:
                problems.append(Problem(path, "a pipeline cannot execute itself"))
        ls = act.get("linkedServiceName")
        if ls is not None:
            if ls.get("type") != "LinkedServiceReference" or ls.get("referenceName") not in linked_services:
                problems.append(Problem(path, f"linked service {ls.get('referenceName')!r} is not defined"))
        if kind == "DatabricksNotebook":
            nb = tp.get("notebookPath")
            if not isinstance(nb, str) or not nb.startswith("/"):
                problems.append(Problem(path, f"notebookPath {nb!r} is not an absolute workspace path"))
            if ls is None:
                problems.append(Problem(path, "a DatabricksNotebook activity needs linkedServiceName"))
        text = " ".join(_own_strings(act))
        for var in _VAR_REF.findall(text):
            if var not in variables:
                problems.append(Problem(path, f"reads undeclared variable {var!r}"))
        for param in _PARAM_REF.findall(text):
            if param not in parameters:
                problems.append(Problem(path, f"reads undeclared pipeline parameter {param!r}"))
        for ref in _ACT_REF.findall(text):
            if ref not in act_names:
                problems.append(Problem(path, f"reads the output of unknown activity {ref!r}"))
    return problems


def validate_linked_service(name: str, doc: dict, *, linked_services: set[str]) -> list[Problem]:
    where = f"linkedService/{name}"
    props = doc.get("properties") or {}
    kind = props.get("type")
    problems = []
    if not kind or kind in BASE_CLASS_NAMES:
        problems.append(Problem(where, f"type {kind!r} is not a Data Factory linked service type"))
    tp = props.get("typeProperties") or {}
    if kind == "AzureDatabricks":
        if not tp.get("domain"):
            problems.append(Problem(where, "an AzureDatabricks linked service needs domain (the workspace URL)"))
        token = tp.get("accessToken")
        if tp.get("authentication") == "MSI":
            if not tp.get("workspaceResourceId"):
                problems.append(Problem(where, "MSI authentication needs workspaceResourceId"))
        elif not isinstance(token, dict) or token.get("type") != "AzureKeyVaultSecret":
            problems.append(Problem(where, "accessToken must be an AzureKeyVaultSecret reference (never a literal token)"))
        else:
            store = token.get("store") or {}
            if store.get("referenceName") not in linked_services:
                problems.append(Problem(where, f"Key Vault linked service {store.get('referenceName')!r} is not defined"))
        if not (tp.get("existingClusterId") or tp.get("newClusterVersion") or tp.get("instancePoolId")):
            problems.append(Problem(where, "needs existingClusterId or a new cluster (newClusterVersion ...)"))
    return problems


def validate_trigger(name: str, doc: dict, *, pipelines: set[str]) -> list[Problem]:
    where = f"trigger/{name}"
    props = doc.get("properties") or {}
    problems = []
    if props.get("type") not in TRIGGER_TYPES:
        problems.append(Problem(where, f"type {props.get('type')!r} is not a Data Factory trigger type"))
    for ref in props.get("pipelines") or []:
        pname = (ref.get("pipelineReference") or {}).get("referenceName")
        if pname not in pipelines:
            problems.append(Problem(where, f"starts unknown pipeline {pname!r}"))
    if props.get("type") == "ScheduleTrigger":
        rec = (props.get("typeProperties") or {}).get("recurrence") or {}
        if rec.get("frequency") not in ("Minute", "Hour", "Day", "Week", "Month") or not rec.get("interval"):
            problems.append(Problem(where, "a ScheduleTrigger needs recurrence.frequency and interval"))
    return problems


def validate(resources: dict[str, dict[str, dict]], *, external_linked_services: set[str] = frozenset(),
             external_pipelines: set[str] = frozenset()) -> list[Problem]:
    """``resources``: ``{"pipeline": {name: doc}, "linkedService": {...}, "trigger": {...}}``."""
    pipelines = set(resources.get("pipeline", {})) | set(external_pipelines)
    linked = set(resources.get("linkedService", {})) | set(external_linked_services)
    problems: list[Problem] = []
    for name, doc in resources.get("linkedService", {}).items():
        problems += validate_linked_service(name, doc, linked_services=linked)
    for name, doc in resources.get("pipeline", {}).items():
        problems += validate_pipeline(name, doc, pipelines=pipelines, linked_services=linked)
    for name, doc in resources.get("trigger", {}).items():
        problems += validate_trigger(name, doc, pipelines=pipelines)
    for kind, docs in resources.items():
        for name, doc in docs.items():
            for s in _strings(doc):
                if _TOKEN_LIKE.search(s):
                    problems.append(Problem(f"{kind}/{name}", "holds what looks like a literal Databricks token"))
    # ExecutePipeline must not form a cycle between pipelines
    calls = {n: {(a.get("typeProperties") or {}).get("pipeline", {}).get("referenceName")
                 for _, a, _ in walk((d.get("properties") or {}).get("activities") or [])
                 if a.get("type") == "ExecutePipeline"} for n, d in resources.get("pipeline", {}).items()}
    try:
        pipeline_order(calls)
    except ValueError as exc:
        problems.append(Problem("pipeline", str(exc)))
    return problems


def pipeline_order(calls: dict[str, set[str]]) -> list[str]:
    """Pipelines so that a pipeline comes after the pipelines it executes."""
    order: list[str] = []
    pending = dict(calls)
    while pending:
        ready = sorted(n for n, deps in pending.items() if all(d not in pending for d in deps))
        if not ready:
            raise ValueError("ExecutePipeline calls form a cycle: " + ", ".join(sorted(pending)))
        for n in ready:
            order.append(n)
            del pending[n]
    return order
