"""Approval checks and variable groups of :class:`.admin.AzureDevOpsAdmin`.

Both go through the SDK client's own request machinery (:func:`.connection.send`, the location
id of the resource) with plain JSON: the SDK's ``CheckConfiguration`` model has no ``settings``
(its typed methods would drop the approvers), and the variable-group models have no field for a
Key Vault's ``providerData``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...ports.devops_admin import ApprovalCheck, Identity, KeyVault, Project, Variable, VariableGroup
from .connection import AzureDevOps, send

APPROVAL_CHECK = "8c6f20a7-a545-4486-9777-f762fafe0d4d"
CHECKS_LOCATION = "86c8381e-5aee-4cde-8ae4-25c0c7f5eaea"
VARIABLE_GROUPS_LOCATION = "ef5b7057-ffc3-4c77-bbad-c10b4a4abcc7"
PROJECT_VARIABLE_GROUPS_LOCATION = "f5b09dd5-9d54-45a1-8b5a-1c8287d634cc"
KEY_VAULT = "AzureKeyVault"


def _approval_settings(approvers: list[Identity], instructions: str) -> dict[str, Any]:
    return {"approvers": [{"id": a.id, "displayName": a.name} for a in approvers],
            "executionOrder": 1, "minRequiredApprovers": 0, "requesterCannotBeApprover": False, "blockedApprovers": [],
            "instructions": instructions}


class LibraryMixin:
    """The part of :class:`.admin.AzureDevOpsAdmin` over checks and variable groups; it uses the
    admin's connection, project, ``call`` (SDK errors translated) and cache of checks read."""

    ado: AzureDevOps
    project_name: str
    project: Callable[[], Project]
    call: Callable[..., Any]
    _checks: dict[int, dict[str, Any]]

    # ------------------------------------------------------------ approval checks
    def _send_checks(self, method: str, *, id: Any = None, query: dict[str, str] | None = None,
                     body: Any = None) -> Any:
        client = self.ado.client("pipelines_checks")
        route = {"project": self.project_name}
        if id is not None:
            route["id"] = str(id)

        def request() -> Any:
            return send(client, http_method=method, location_id=CHECKS_LOCATION, version="7.1-preview.1",
                        route_values=route, query_parameters=query, content=body).json()

        return self.call(f"{method} pipeline checks", request)

    def approval_checks(self, environment_id: int) -> list[ApprovalCheck]:
        found = self._send_checks("GET", query={"resourceType": "environment", "resourceId": str(environment_id),
                                                "$expand": "settings"})
        out = []
        for c in found.get("value") or []:
            if ((c.get("type") or {}).get("id") or "").lower() != APPROVAL_CHECK:
                continue
            self._checks[c["id"]] = c
            approvers = tuple(Identity(a.get("id"), a.get("displayName") or "")
                              for a in (c.get("settings") or {}).get("approvers", []))
            out.append(ApprovalCheck(c["id"], approvers))
        return out

    def create_approval(self, environment_id: int, environment_name: str, approvers: list[Identity],
                        instructions: str) -> None:
        body = {"type": {"id": APPROVAL_CHECK, "name": "Approval"}, "settings": _approval_settings(approvers, instructions),
                "resource": {"type": "environment", "id": str(environment_id), "name": environment_name},
                "timeout": 43200}
        self._send_checks("POST", body=body)

    def update_approval(self, check_id: int, approvers: list[Identity], instructions: str) -> None:
        known = self._checks.get(check_id) or self._send_checks("GET", id=check_id)
        body = {**{k: known[k] for k in ("id", "type", "resource") if k in known},
                "settings": _approval_settings(approvers, instructions)}
        self._send_checks("PATCH", id=check_id, body=body)

    # ------------------------------------------------------------ variable groups
    def variable_group(self, name: str) -> VariableGroup | None:
        client = self.ado.client("task_agent")

        def request() -> Any:
            return send(client, http_method="GET", location_id=PROJECT_VARIABLE_GROUPS_LOCATION,
                        version="7.1-preview.2", route_values={"project": self.project_name},
                        query_parameters={"groupName": name}).json()

        found = self.call("list variable groups", request).get("value") or []
        if not found:
            return None
        group = found[0]
        variables = {k: Variable(v.get("value"), bool(v.get("isSecret")), bool(v.get("isReadOnly")))
                     for k, v in (group.get("variables") or {}).items()}
        data = group.get("providerData") or {}
        vault = (KeyVault(data.get("vault") or "", data.get("serviceEndpointId") or "")
                 if group.get("type") == KEY_VAULT else None)
        return VariableGroup(group["name"], variables, group.get("description") or "", vault, group["id"])

    def save_variable_group(self, group: VariableGroup) -> None:
        project = self.project()
        ref = {"name": group.name, "description": group.description,
               "projectReference": {"id": project.id, "name": project.name}}
        if group.key_vault is not None:
            variables = {n: {"isSecret": True, "enabled": True, "contentType": ""} for n in group.variables}
            body = {"name": group.name, "description": group.description, "type": KEY_VAULT, "variables": variables,
                    "providerData": {"serviceEndpointId": group.key_vault.service_connection_id,
                                     "vault": group.key_vault.vault},
                    "variableGroupProjectReferences": [ref]}
        else:
            variables = {n: {"isSecret": v.secret, "value": v.value, **({} if v.read_only is None else
                                                                           {"isReadOnly": v.read_only})}
                         for n, v in group.variables.items()}
            body = {"name": group.name, "description": group.description, "type": "Vsts", "variables": variables,
                    "variableGroupProjectReferences": [ref]}
        client = self.ado.client("task_agent")
        route = {"groupId": str(group.id)} if group.id is not None else {}

        def request() -> Any:
            return send(client, http_method="PUT" if group.id is not None else "POST",
                        location_id=VARIABLE_GROUPS_LOCATION, version="7.1-preview.2", route_values=route,
                        content=body).json()

        self.call(f"{'update' if group.id is not None else 'create'} variable group {group.name}", request)
