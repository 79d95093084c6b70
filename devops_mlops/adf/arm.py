"""One ARM template (and its parameters file) for the exported resources.

Resources are ``Microsoft.DataFactory/factories/{linkedServices,pipelines,triggers}``
(api-version 2018-06-01) named ``[concat(parameters('factoryName'), '/<name>')]``, with
``dependsOn`` on the linked service and on the pipelines each pipeline executes or each
trigger starts. Parameters: ``factoryName``, ``workspaceUrl`` (the linked service's
domain), ``workspaceResourceId`` (with managed identity) and a ``securestring`` for
each secret kept out of the files (the Teams webhook URL when it came from ``${ENV}``).
Literal strings that begin with ``[`` are escaped as ``[[`` so ARM does not evaluate them.
"""

from __future__ import annotations

import copy
from typing import Any

from .resources import Export
from .validate import walk

API_VERSION = "2018-06-01"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
PARAMS_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
ARM_TYPES = {"linkedService": ("Microsoft.DataFactory/factories/linkedServices", "linkedServices"),
             "pipeline": ("Microsoft.DataFactory/factories/pipelines", "pipelines"),
             "trigger": ("Microsoft.DataFactory/factories/triggers", "triggers")}
#: read-only properties that a PUT (and so a template) must not carry
READ_ONLY = {"trigger": ("runtimeState",)}


def escape(obj: Any) -> Any:
    if isinstance(obj, str):
        return "[" + obj if obj.startswith("[") else obj
    if isinstance(obj, dict):
        return {k: escape(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [escape(v) for v in obj]
    return obj


def _dep(kind: str, name: str) -> str:
    return f"[concat(variables('factoryId'), '/{ARM_TYPES[kind][1]}/{name}')]"


def _secret_param(param: str) -> str:
    parts = param.split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


def template(exp: Export, *, factory: str | None = None) -> tuple[dict, dict]:
    """(template, parameters file)."""
    parameters: dict[str, Any] = {
        "factoryName": {"type": "string", "metadata": {"description": "Data Factory name"}},
        "workspaceUrl": {"type": "string", "defaultValue": exp.workspace_url,
                         "metadata": {"description": "Databricks workspace URL (the linked service's domain)"}},
    }
    if factory:
        parameters["factoryName"]["defaultValue"] = factory
    if exp.workspace_resource_id:
        parameters["workspaceResourceId"] = {
            "type": "string", "defaultValue": exp.workspace_resource_id,
            "metadata": {"description": "ARM resource id of the Databricks workspace (managed identity)"}}
    resources = []
    for kind in ("linkedService", "pipeline", "trigger"):
        for name, doc in exp.resources[kind].items():
            props = escape(copy.deepcopy(doc["properties"]))
            for key in READ_ONLY.get(kind, ()):
                props.pop(key, None)
            deps: list[str] = []
            if kind == "linkedService" and props.get("type") == "AzureDatabricks":
                props["typeProperties"]["domain"] = "[parameters('workspaceUrl')]"
                if "workspaceResourceId" in props["typeProperties"]:
                    props["typeProperties"]["workspaceResourceId"] = "[parameters('workspaceResourceId')]"
            if kind == "pipeline":
                for pname, spec in props.get("parameters", {}).items():
                    if (name, pname) in exp.secret_parameters:
                        arm_name = _secret_param(pname)
                        parameters[arm_name] = {"type": "securestring",
                                                "metadata": {"description": f"{pname} of the pipelines"}}
                        spec["defaultValue"] = f"[parameters('{arm_name}')]"
                for _, act, _ in walk(props.get("activities", [])):
                    ls = (act.get("linkedServiceName") or {}).get("referenceName")
                    if ls in exp.resources["linkedService"]:
                        deps.append(_dep("linkedService", ls))
                    if act.get("type") == "ExecutePipeline":
                        deps.append(_dep("pipeline", act["typeProperties"]["pipeline"]["referenceName"]))
            if kind == "trigger":
                for ref in props.get("pipelines", []):
                    deps.append(_dep("pipeline", ref["pipelineReference"]["referenceName"]))
            resources.append({
                "name": f"[concat(parameters('factoryName'), '/{name}')]",
                "type": ARM_TYPES[kind][0],
                "apiVersion": API_VERSION,
                "properties": props,
                "dependsOn": sorted(set(deps)),
            })
    tpl = {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": parameters,
        "variables": {"factoryId": "[concat('Microsoft.DataFactory/factories/', parameters('factoryName'))]"},
        "resources": resources,
    }
    values = {k: {"value": v["defaultValue"]} for k, v in parameters.items() if "defaultValue" in v}
    values.setdefault("factoryName", {"value": ""})
    for k, v in parameters.items():
        if v["type"] == "securestring":
            values[k] = {"value": ""}
    return tpl, {"$schema": PARAMS_SCHEMA, "contentVersion": "1.0.0.0", "parameters": values}
