"""Emulator areas behind `mlops azure-devops setup`: build definitions, environments,
pipeline checks (approvals), variable groups, service endpoints (lookup), policy
configurations, and security (namespaces, ACLs, ACEs, permission checks).

Rights: ``revoke("EditBuildDefinition" | "EditPolicies" | "ManagePermissions" |
"ManageEnvironments" | "ManageLibrary")`` makes ``permissions`` answer False for it
and refuses the matching writes with 403 TF400813, as a token without the right sees.
"""

from __future__ import annotations

import copy
from typing import Any

from ..http import Request
from .base import AREAS, Location, new_id, now

GIT_NAMESPACE = "2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87"
BUILD_NAMESPACE = "33344d9c-fc72-4d6f-aba5-fa317101a7e9"
GIT_BITS = {
    "Administer": 1, "GenericRead": 2, "GenericContribute": 4, "ForcePush": 8, "CreateBranch": 16,
    "CreateTag": 32, "ManageNote": 64, "PolicyExempt": 128, "CreateRepository": 256, "DeleteRepository": 512,
    "RenameRepository": 1024, "EditPolicies": 2048, "RemoveOthersLocks": 4096, "ManagePermissions": 8192,
    "PullRequestContribute": 16384, "PullRequestBypassPolicy": 32768,
}
BUILD_BITS = {"ViewBuilds": 1, "EditBuildQuality": 2, "RetainIndefinitely": 4, "DeleteBuilds": 8, "ManageBuildQualities": 16,
              "DestroyBuilds": 32, "UpdateBuildInformation": 64, "QueueBuilds": 128, "ManageBuildQueue": 256,
              "StopBuilds": 512, "ViewBuildDefinition": 1024, "EditBuildDefinition": 2048, "DeleteBuildDefinition": 4096,
              "OverrideBuildCheckInValidation": 8192, "AdministerBuildPermissions": 16384}
POLICY_TYPES = {
    "0609b952-1397-4640-95ec-e00a01b2c241": "Build",
    "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd": "Minimum number of reviewers",
    "40e92b44-2fe1-4dd6-b3d8-74a9c21d0c6e": "Work item linking",
}
CHECK_TYPES = {"8c6f20a7-a545-4486-9777-f762fafe0d4d": "Approval", "fe1de3ee-a436-41b4-bb20-f6eb4cb879a7": "Task Check"}
#: rights a test can revoke -> (namespace, bit, (method, path regex) of the writes it guards)
RIGHTS = {
    "EditBuildDefinition": (BUILD_NAMESPACE, 2048, r"/_apis/build/definitions"),
    "EditPolicies": (GIT_NAMESPACE, 2048, r"/_apis/policy/configurations"),
    "ManagePermissions": (GIT_NAMESPACE, 8192, r"/_apis/accesscontrolentries"),
    "ManageEnvironments": (None, 0, r"/_apis/(distributedtask/environments|pipelines/checks)"),
    "ManageLibrary": (None, 0, r"/_apis/distributedtask/variablegroups"),
}


class PipelinesArea:
    def _install_pipelines(self) -> None:
        self.definitions: dict[int, dict[str, Any]] = {}
        self.environments: dict[int, dict[str, Any]] = {}
        self.checks: dict[int, dict[str, Any]] = {}
        self.variable_groups: dict[int, dict[str, Any]] = {}
        self.service_endpoints: dict[str, dict[str, Any]] = {}
        self.policies: dict[int, dict[str, Any]] = {}
        #: (namespace, token) -> descriptor -> {"allow": int, "deny": int}
        self.acls: dict[tuple[str, str], dict[str, dict[str, int]]] = {}
        self.revoked: set[str] = set()
        b, d, pc, p = AREAS["build"], AREAS["distributedtask"], AREAS["pipelinesChecks"], AREAS["policy"]
        self.add_location(Location("dbeaf647-6167-421a-bda9-c9327b25e2e6", "build", "definitions",
                                   "{project}/_apis/{area}/{resource}/{definitionId}", resource_version=7, area_id=b),
                          get=self._get_definitions, post=self._create_definition, put=self._update_definition)
        self.add_location(Location("8572b1fc-2482-47fa-8f74-7e3ed53ee54b", "distributedtask", "environments",
                                   "{project}/_apis/{area}/{resource}/{environmentId}", area_id=d),
                          get=self._get_environments, post=self._add_environment)
        self.add_location(Location("86c8381e-5aee-4cde-8ae4-25c0c7f5eaea", "PipelinesChecks", "configurations",
                                   "{project}/_apis/pipelines/checks/{resource}/{id}", area_id=pc),
                          get=self._get_checks, post=self._add_check, patch=self._update_check)
        self.add_location(Location("ef5b7057-ffc3-4c77-bbad-c10b4a4abcc7", "distributedtask", "variablegroups",
                                   "_apis/{area}/{resource}/{groupId}", resource_version=2, area_id=d),
                          post=self._add_variable_group, put=self._update_variable_group)
        self.add_location(Location("f5b09dd5-9d54-45a1-8b5a-1c8287d634cc", "distributedtask", "variablegroups",
                                   "{project}/_apis/{area}/{resource}/{groupId}", resource_version=2, area_id=d),
                          get=self._get_variable_groups)
        self.add_location(Location("e85f1c62-adfc-4b74-b618-11a150fb195e", "serviceendpoint", "endpoints",
                                   "{project}/_apis/{area}/{resource}/{endpointId}", resource_version=4),
                          get=self._get_service_endpoints)
        self.add_location(Location("dad91cbe-d183-45f8-9c6e-9c1164472121", "policy", "configurations",
                                   "{project}/_apis/{area}/{resource}/{configurationId}", area_id=p),
                          get=self._get_policies, post=self._create_policy, put=self._update_policy)
        self.add_location(Location("44096322-2d3d-466a-bb30-d1b7de69f61f", "policy", "types",
                                   "{project}/_apis/{area}/{resource}/{typeId}", area_id=p),
                          get=self._get_policy_types)
        self.add_location(Location("ac08c8ff-4323-4b08-af90-bcd018d380ce", "Security", "AccessControlEntries",
                                   "_apis/{resource}/{securityNamespaceId}"),
                          post=self._set_aces)
        self.add_location(Location("18a2ad18-7571-46ae-bec7-0c7da1495885", "Security", "AccessControlLists",
                                   "_apis/{resource}/{securityNamespaceId}"),
                          get=self._query_acls)
        self.add_location(Location("dd3b8bd6-c7fc-4cbd-929a-933d9c011c9d", "Security", "Permissions",
                                   "_apis/{resource}/{securityNamespaceId}/{permissions}", resource_version=2),
                          get=self._has_permissions)
        self.add_location(Location("ce7b9f95-fde9-4be8-a86d-83b366f0b87a", "Security", "SecurityNamespaces",
                                   "_apis/{resource}/{securityNamespaceId}"),
                          get=self._get_namespaces)

    # ------------------------------------------------------------ seeding / rights
    def revoke(self, right: str) -> None:
        """The token loses ``right`` (see :data:`RIGHTS`): checks answer False, writes answer 403."""
        _, _, pattern = RIGHTS[right]
        self.revoked.add(right)
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            self.deny(pattern, method=method)

    def add_service_endpoint(self, project: str, name: str, type_: str = "azurerm") -> dict[str, Any]:
        proj = self.project(project)
        ep = {"id": new_id(), "name": name, "type": type_, "url": "https://management.azure.com/", "isReady": True,
              "serviceEndpointProjectReferences": [{"projectReference": {"id": proj["id"], "name": proj["name"]}, "name": name}]}
        self.service_endpoints[ep["id"]] = ep
        return ep

    # ------------------------------------------------------------ build definitions
    def _get_definitions(self, req: Request) -> Any:
        proj = self.project(req.params.get("project"))
        did = req.params.get("definitionId")
        if did:
            d = self.definitions.get(int(did))
            if d is None or d["project"]["id"] != proj["id"]:
                raise self.error(404, f"The requested build definition {did} cannot be found.", "DefinitionNotFoundException")
            return d
        name, path = req.arg("name"), req.arg("path")
        found = [d for d in self.definitions.values() if d["project"]["id"] == proj["id"]
                 and (name is None or d["name"].lower() == name.lower())
                 and (path is None or d["path"].lower() == path.lower())
                 and (req.arg("repositoryId") is None or d["repository"].get("id") == req.arg("repositoryId"))]
        return self.collection(found)

    def _check_definition(self, proj: dict[str, Any], body: dict[str, Any], exclude: int | None = None) -> None:
        if not body.get("name"):
            raise self.error(400, "The definition name is required.", "ArgumentException")
        process = body.get("process") or {}
        if process.get("type") == 2 and not process.get("yamlFilename"):
            raise self.error(400, "A YAML definition needs process.yamlFilename.", "ArgumentException")
        repo = body.get("repository") or {}
        if repo.get("type") == "TfsGit" and repo.get("id") not in getattr(self, "repositories", {}):
            raise self.error(400, f"TF401019: The Git repository with name or identifier {repo.get('id')} does not exist.",
                             "GitRepositoryNotFoundException")
        for d in self.definitions.values():
            if (d["id"] != exclude and d["project"]["id"] == proj["id"] and d["name"].lower() == body["name"].lower()
                    and d["path"].lower() == (body.get("path") or "\\").lower()):
                raise self.error(400, f"The build definition name {body['name']} already exists in folder {d['path']}.",
                                 "DefinitionExistsException")

    def _create_definition(self, req: Request) -> Any:
        proj = self.project(req.params.get("project"))
        body = req.json or {}
        self._check_definition(proj, body)
        did = max(self.definitions, default=0) + 1
        d = copy.deepcopy(body)
        d.update({"id": did, "revision": 1, "project": self.project_ref(proj), "path": body.get("path") or "\\",
                  "createdDate": now(), "authoredBy": self.identity_ref(), "queueStatus": body.get("queueStatus", "enabled"),
                  "type": body.get("type", "build"), "url": f"{self.org_url}/{proj['id']}/_apis/build/Definitions/{did}",
                  "uri": f"vstfs:///Build/Definition/{did}"})
        self.definitions[did] = d
        return d

    def _update_definition(self, req: Request) -> Any:
        proj = self.project(req.params.get("project"))
        did = int(req.params.get("definitionId") or 0)
        current = self.definitions.get(did)
        if current is None:
            raise self.error(404, f"The requested build definition {did} cannot be found.", "DefinitionNotFoundException")
        body = req.json or {}
        if body.get("revision") != current["revision"]:
            raise self.error(409, f"TF215076: The definition has been updated by another client (revision "
                                  f"{current['revision']}).", "DefinitionExistsException")
        self._check_definition(proj, body, exclude=did)
        d = copy.deepcopy(body)
        d.update({k: current[k] for k in ("id", "project", "createdDate", "url", "uri", "authoredBy")})
        d["revision"] = current["revision"] + 1
        d["path"] = body.get("path") or "\\"
        self.definitions[did] = d
        return d

    # ------------------------------------------------------------ environments + checks
    def _get_environments(self, req: Request) -> Any:
        proj = self.project(req.params.get("project"))
        eid = req.params.get("environmentId")
        envs = [e for e in self.environments.values() if e["project"]["id"] == proj["id"]]
        if eid:
            for e in envs:
                if str(e["id"]) == eid:
                    return e
            raise self.error(404, f"Environment {eid} not found.", "EnvironmentNotFoundException")
        name = req.arg("name")
        return self.collection([e for e in envs if name is None or e["name"].lower() == name.lower()])

    def _add_environment(self, req: Request) -> Any:
        proj = self.project(req.params.get("project"))
        body = req.json or {}
        name = (body.get("name") or "").strip()
        if not name:
            raise self.error(400, "Environment name is required.", "ArgumentException")
        if any(e["name"].lower() == name.lower() and e["project"]["id"] == proj["id"] for e in self.environments.values()):
            raise self.error(409, f"Environment '{name}' already exists in the current project.", "EnvironmentExistsException")
        eid = max(self.environments, default=0) + 1
        env = {"id": eid, "name": name, "description": body.get("description") or "", "createdBy": self.identity_ref(),
               "createdOn": now(), "lastModifiedBy": self.identity_ref(), "lastModifiedOn": now(),
               "project": {"id": proj["id"], "name": proj["name"]}, "resources": []}
        self.environments[eid] = env
        return env

    def _check_json(self, c: dict[str, Any], expand: bool) -> dict[str, Any]:
        return c if expand else {k: v for k, v in c.items() if k != "settings"}

    def _get_checks(self, req: Request) -> Any:
        proj = self.project(req.params.get("project"))
        expand = (req.arg("$expand") or "").lower() == "settings"
        cid = req.params.get("id")
        mine = [c for c in self.checks.values() if c["_project"] == proj["id"]]
        if cid:
            for c in mine:
                if str(c["id"]) == cid:
                    return self._check_json(self._public(c), expand)
            raise self.error(404, f"Check configuration {cid} not found.", "CheckConfigurationNotFoundException")
        rtype, rid = req.arg("resourceType"), req.arg("resourceId")
        return self.collection([self._check_json(self._public(c), expand) for c in mine
                                if (rtype is None or c["resource"]["type"].lower() == rtype.lower())
                                and (rid is None or str(c["resource"]["id"]) == rid)])

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _validate_check(self, proj: dict[str, Any], body: dict[str, Any]) -> None:
        ctype = ((body.get("type") or {}).get("id") or "").lower()
        if ctype not in CHECK_TYPES:
            raise self.error(400, f"Check type {ctype!r} is not known.", "CheckTypeNotFoundException")
        res = body.get("resource") or {}
        if res.get("type", "").lower() == "environment":
            self._get_environments(Request("GET", "", {}, {}, b"", params={"project": proj["id"], "environmentId": str(res.get("id"))}))
        if CHECK_TYPES[ctype] == "Approval":
            approvers = (body.get("settings") or {}).get("approvers") or []
            if not approvers:
                raise self.error(400, "An approval check needs at least one approver.", "ArgumentException")
            for a in approvers:
                if a.get("id") not in self.identities:
                    raise self.error(400, f"Approver {a.get('id')} is not a known identity.", "IdentityNotFoundException")

    def _add_check(self, req: Request) -> Any:
        proj = self.project(req.params.get("project"))
        body = req.json or {}
        self._validate_check(proj, body)
        cid = max(self.checks, default=0) + 1
        c = {"id": cid, "version": 1, "type": body["type"], "settings": body.get("settings"), "resource": body["resource"],
             "timeout": body.get("timeout", 43200), "createdBy": self.identity_ref(), "createdOn": now(),
             "modifiedBy": self.identity_ref(), "modifiedOn": now(),
             "url": f"{self.org_url}/{proj['id']}/_apis/pipelines/checks/configurations/{cid}", "_project": proj["id"]}
        self.checks[cid] = c
        return self._public(c)

    def _update_check(self, req: Request) -> Any:
        proj = self.project(req.params.get("project"))
        c = self.checks.get(int(req.params.get("id") or 0))
        if c is None or c["_project"] != proj["id"]:
            raise self.error(404, "Check configuration not found.", "CheckConfigurationNotFoundException")
        body = req.json or {}
        self._validate_check(proj, {**self._public(c), **{k: v for k, v in body.items() if v is not None}})
        for key in ("settings", "timeout"):
            if body.get(key) is not None:
                c[key] = body[key]
        c["version"] += 1
        c["modifiedOn"] = now()
        return self._public(c)

    # ------------------------------------------------------------ variable groups + endpoints
    def _vg_validate(self, body: dict[str, Any]) -> list[str]:
        refs = body.get("variableGroupProjectReferences") or []
        if not body.get("name") or not refs:
            raise self.error(400, "A variable group needs a name and variableGroupProjectReferences.", "ArgumentException")
        pids = [self.project((r.get("projectReference") or {}).get("id") or (r.get("projectReference") or {}).get("name"))["id"]
                for r in refs]
        if body.get("type") == "AzureKeyVault":
            data = body.get("providerData") or {}
            if data.get("serviceEndpointId") not in self.service_endpoints or not data.get("vault"):
                raise self.error(400, "An AzureKeyVault variable group needs providerData.serviceEndpointId (an existing "
                                      "service connection) and providerData.vault.", "ArgumentException")
        return pids

    def _vg_json(self, g: dict[str, Any]) -> dict[str, Any]:
        out = self._public(g)
        out["variables"] = {k: ({**v, "value": None} if v.get("isSecret") else v) for k, v in g["variables"].items()}
        return out

    def _add_variable_group(self, req: Request) -> Any:
        body = req.json or {}
        pids = self._vg_validate(body)
        for g in self.variable_groups.values():
            if g["name"].lower() == body["name"].lower() and set(g["_projects"]) & set(pids):
                raise self.error(409, f"Variable group with name {body['name']} already exists.", "VariableGroupExistsException")
        gid = max(self.variable_groups, default=0) + 1
        g = {"id": gid, "name": body["name"], "description": body.get("description") or "", "type": body.get("type") or "Vsts",
             "providerData": body.get("providerData"), "variables": copy.deepcopy(body.get("variables") or {}),
             "variableGroupProjectReferences": body["variableGroupProjectReferences"], "createdBy": self.identity_ref(),
             "createdOn": now(), "modifiedBy": self.identity_ref(), "modifiedOn": now(), "isShared": False, "_projects": pids}
        self.variable_groups[gid] = g
        return self._vg_json(g)

    def _update_variable_group(self, req: Request) -> Any:
        g = self.variable_groups.get(int(req.params.get("groupId") or 0))
        if g is None:
            raise self.error(404, "Variable group not found.", "VariableGroupNotFoundException")
        body = req.json or {}
        g["_projects"] = self._vg_validate(body)
        old = g["variables"]
        new = copy.deepcopy(body.get("variables") or {})
        for k, v in new.items():  # a secret sent back without its value keeps the stored value, as the service does
            if v.get("isSecret") and v.get("value") is None and k in old:
                v["value"] = old[k].get("value")
        g.update({"name": body["name"], "description": body.get("description") or "", "type": body.get("type") or "Vsts",
                  "providerData": body.get("providerData"), "variables": new, "modifiedOn": now(),
                  "variableGroupProjectReferences": body["variableGroupProjectReferences"]})
        return self._vg_json(g)

    def _get_variable_groups(self, req: Request) -> Any:
        proj = self.project(req.params.get("project"))
        name = req.arg("groupName")
        found = [self._vg_json(g) for g in self.variable_groups.values() if proj["id"] in g["_projects"]
                 and (name is None or g["name"].lower() == name.lower())]
        return self.collection(found)

    def _get_service_endpoints(self, req: Request) -> Any:
        proj = self.project(req.params.get("project"))
        names = [n.lower() for n in (req.arg("endpointNames") or "").split(",") if n]
        found = [e for e in self.service_endpoints.values()
                 if any(r["projectReference"]["id"] == proj["id"] for r in e["serviceEndpointProjectReferences"])
                 and (not names or e["name"].lower() in names)]
        return self.collection(found)

    # ------------------------------------------------------------ policies
    def _policy_validate(self, body: dict[str, Any]) -> None:
        tid = ((body.get("type") or {}).get("id") or "").lower()
        if tid not in POLICY_TYPES:
            raise self.error(400, f"Policy type {tid!r} does not exist.", "PolicyTypeNotFoundException")
        settings = body.get("settings") or {}
        if POLICY_TYPES[tid] == "Build" and int(settings.get("buildDefinitionId") or 0) not in self.definitions:
            raise self.error(400, f"The build definition {settings.get('buildDefinitionId')} does not exist.", "ArgumentException")
        for scope in settings.get("scope") or []:
            if scope.get("repositoryId") and scope["repositoryId"] not in getattr(self, "repositories", {}):
                raise self.error(400, f"TF401019: repository {scope['repositoryId']} does not exist.", "GitRepositoryNotFoundException")

    def _policy_json(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._public(p)

    def _get_policies(self, req: Request) -> Any:
        proj = self.project(req.params.get("project"))
        cid = req.params.get("configurationId")
        mine = [p for p in self.policies.values() if p["_project"] == proj["id"]]
        if cid:
            for p in mine:
                if str(p["id"]) == cid:
                    return self._policy_json(p)
            raise self.error(404, f"TF400487: Policy configuration {cid} not found.", "PolicyConfigurationNotFoundException")
        ptype = (req.arg("policyType") or "").lower()
        return self.collection([self._policy_json(p) for p in mine if not ptype or p["type"]["id"].lower() == ptype])

    def _create_policy(self, req: Request) -> Any:
        proj = self.project(req.params.get("project"))
        body = req.json or {}
        self._policy_validate(body)
        pid = max(self.policies, default=0) + 1
        tid = body["type"]["id"].lower()
        p = {"id": pid, "revision": 1, "isEnabled": bool(body.get("isEnabled")), "isBlocking": bool(body.get("isBlocking")),
             "isDeleted": False, "settings": body.get("settings") or {}, "createdBy": self.identity_ref(), "createdDate": now(),
             "type": {"id": tid, "displayName": POLICY_TYPES[tid], "url": f"{self.org_url}/{proj['id']}/_apis/policy/types/{tid}"},
             "url": f"{self.org_url}/{proj['id']}/_apis/policy/configurations/{pid}", "_project": proj["id"]}
        self.policies[pid] = p
        return self._policy_json(p)

    def _update_policy(self, req: Request) -> Any:
        proj = self.project(req.params.get("project"))
        p = self.policies.get(int(req.params.get("configurationId") or 0))
        if p is None or p["_project"] != proj["id"]:
            raise self.error(404, "TF400487: Policy configuration not found.", "PolicyConfigurationNotFoundException")
        body = req.json or {}
        self._policy_validate(body)
        p.update({"isEnabled": bool(body.get("isEnabled")), "isBlocking": bool(body.get("isBlocking")),
                  "settings": body.get("settings") or {}, "revision": p["revision"] + 1})
        return self._policy_json(p)

    def _get_policy_types(self, req: Request) -> Any:
        self.project(req.params.get("project"))
        return self.collection([{"id": k, "displayName": v} for k, v in POLICY_TYPES.items()])

    # ------------------------------------------------------------ security
    def _set_aces(self, req: Request) -> Any:
        ns = req.params.get("securityNamespaceId", "").lower()
        body = req.json or {}
        token = body.get("token")
        if not token:
            raise self.error(400, "token is required", "ArgumentException")
        acl = self.acls.setdefault((ns, token), {})
        out = []
        for ace in body.get("accessControlEntries") or []:
            desc = ace["descriptor"]
            if not any(i["descriptor"].lower() == desc.lower() for i in self.identities.values()):
                raise self.error(400, f"The identity {desc} could not be found.", "IdentityNotFoundException")
            cur = acl.get(desc, {"allow": 0, "deny": 0})
            if body.get("merge"):
                allow = (cur["allow"] | int(ace.get("allow") or 0)) & ~int(ace.get("deny") or 0)
                deny = (cur["deny"] | int(ace.get("deny") or 0)) & ~int(ace.get("allow") or 0)
            else:
                allow, deny = int(ace.get("allow") or 0), int(ace.get("deny") or 0)
            acl[desc] = {"allow": allow, "deny": deny}
            out.append({"descriptor": desc, "allow": allow, "deny": deny})
        return self.collection(out)

    def _query_acls(self, req: Request) -> Any:
        ns = req.params.get("securityNamespaceId", "").lower()
        token = req.arg("token")
        descs = [d.lower() for d in (req.arg("descriptors") or "").split(",") if d]
        extended = (req.arg("includeExtendedInfo") or "").lower() == "true"
        out = []
        for (n, t), acl in self.acls.items():
            if n != ns or (token and t != token):
                continue
            aces = {}
            for desc, ace in acl.items():
                if descs and desc.lower() not in descs:
                    continue
                entry = {"descriptor": desc, "allow": ace["allow"], "deny": ace["deny"]}
                if extended:
                    entry["extendedInfo"] = {"effectiveAllow": ace["allow"], "effectiveDeny": ace["deny"]}
                aces[desc] = entry
            out.append({"inheritPermissions": True, "token": t, "acesDictionary": aces})
        return self.collection(out)

    def _has_permissions(self, req: Request) -> Any:
        ns = req.params.get("securityNamespaceId", "").lower()
        bits = int(req.params.get("permissions") or 0)
        tokens = (req.arg("tokens") or "").split(req.arg("delimiter") or ",")
        denied = any(RIGHTS[r][0] == ns and RIGHTS[r][1] & bits for r in self.revoked)
        return self.collection([not denied for _ in tokens])

    def _get_namespaces(self, req: Request) -> Any:
        spaces = [
            {"namespaceId": GIT_NAMESPACE, "name": "Git Repositories", "displayName": "Git Repositories", "separatorValue": "/",
             "actions": [{"bit": b, "name": n, "displayName": n, "namespaceId": GIT_NAMESPACE} for n, b in GIT_BITS.items()]},
            {"namespaceId": BUILD_NAMESPACE, "name": "Build", "displayName": "Build", "separatorValue": "/",
             "actions": [{"bit": b, "name": n, "displayName": n, "namespaceId": BUILD_NAMESPACE} for n, b in BUILD_BITS.items()]},
        ]
        ns = (req.params.get("securityNamespaceId") or "").lower()
        return self.collection([s for s in spaces if not ns or s["namespaceId"] == ns])
