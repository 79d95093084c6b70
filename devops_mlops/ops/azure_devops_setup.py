"""`mlops azure-devops setup`: wire the project into Azure DevOps through the azure-devops SDK.

Creates or updates, idempotently: the three YAML pipelines (build definitions for
azure-pipelines/pr.yml, release.yml, monitoring.yml on the repository's default
branch), environments ``staging`` and ``production`` with an approval check on
production (scm.azure_devops.approvers, else the identity of the token: never none), the variable group of the secret names the pipelines map through
``env:`` (names only; or linked to a Key Vault), the build-validation policy on the
default branch running the PR pipeline, and Contribute / Create branch / Contribute
to pull requests for '<project> Build Service (<org>)' on the repository (or, when
the token may not manage permissions, what to grant by hand).

Everything is read and checked first (project, repository, files, approvers,
service connection, rights); only then is anything changed. A failure part-way
names what was already done. All SDK clients; no raw REST.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, MlopsError, ServiceError

if TYPE_CHECKING:  # pragma: no cover
    from ..adapters.azure.connection import AzureDevOps
    from ..context import Context

PIPELINES = {"pr": "azure-pipelines/pr.yml", "release": "azure-pipelines/release.yml", "monitoring": "azure-pipelines/monitoring.yml"}
ENVIRONMENTS = ("staging", "production")
GIT_NAMESPACE = "2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87"
BUILD_NAMESPACE = "33344d9c-fc72-4d6f-aba5-fa317101a7e9"
GIT_PERMS = {"Contribute": 4, "Create branch": 16, "Contribute to pull requests": 16384}
MANAGE_PERMISSIONS, EDIT_POLICIES, EDIT_BUILD_DEFINITION = 8192, 2048, 2048
BUILD_POLICY = "0609b952-1397-4640-95ec-e00a01b2c241"
APPROVAL_CHECK = "8c6f20a7-a545-4486-9777-f762fafe0d4d"
#: identity descriptors of services (build service, service principals), not of a person who can approve
SERVICE_DESCRIPTORS = ("Microsoft.TeamFoundation.ServiceIdentity", "Microsoft.VisualStudio.Services.Claims.AadServicePrincipal")
DEFAULT_GROUP = "mlops-secrets"
DEFAULT_SECRETS = ("DATABRICKS_HOST", "DATABRICKS_TOKEN")
_ENV_REF = re.compile(r"^\s+([A-Z][A-Z0-9_]*):\s*\$\(([A-Z][A-Z0-9_]*)\)\s*$", re.MULTILINE)


@dataclass
class Step:
    kind: str  # pipeline | environment | approval | variable-group | policy | permissions
    name: str
    action: str  # create | update | unchanged | manual
    detail: str = ""
    apply: Any = field(default=None, repr=False, compare=False)


@dataclass
class SetupResult:
    organization_url: str
    project: str
    repository: str
    default_branch: str
    dry_run: bool
    steps: list[Step]
    manual: list[str]

    @property
    def changed(self) -> bool:
        return any(s.action in ("create", "update") for s in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {"organization_url": self.organization_url, "project": self.project, "repository": self.repository,
                "default_branch": self.default_branch, "dry_run": self.dry_run, "changed": self.changed,
                "steps": [{"kind": s.kind, "name": s.name, "action": s.action, "detail": s.detail} for s in self.steps],
                "manual": self.manual}


def secret_names(root: Path) -> list[str]:
    """The variables the pipelines map into steps' env: as ``NAME: $(NAME)`` (not predefined ones)."""
    names: list[str] = []
    for path in sorted((root / "azure-pipelines").rglob("*.y*ml")):
        for _, ref in _ENV_REF.findall(path.read_text(encoding="utf-8", errors="replace")):
            if ref not in names:
                names.append(ref)
    return names or list(DEFAULT_SECRETS)


_GROUP_REF = re.compile(r"^\s*-\s*group:\s*['\"]?([^'\"#\s]+)", re.MULTILINE)


def referenced_groups(root: Path) -> list[str]:
    """The variable groups the pipelines reference (``- group: NAME``), in order of appearance."""
    names: list[str] = []
    for path in sorted((root / "azure-pipelines").rglob("*.y*ml")):
        for name in _GROUP_REF.findall(path.read_text(encoding="utf-8", errors="replace")):
            if "$" not in name and name not in names:
                names.append(name)
    return names


def _ident_name(i: Any) -> str:
    return i.provider_display_name or i.custom_display_name or ""


class _Setup:
    def __init__(self, ctx: Context, ado: AzureDevOps) -> None:
        self.ctx, self.ado, self.t = ctx, ado, ado.target
        self.cfg = ctx.config.scm.azure_devops
        self.manual: list[str] = []

    def call(self, action: str, fn, *args, **kwargs):
        from ..adapters.azure.errors import translated

        with translated(action, self.t):
            return fn(*args, **kwargs)

    # ---------------------------------------------------------- read + check
    def preflight(self) -> None:
        root = self.ctx.root
        missing = [p for p in PIPELINES.values() if not (root / p).is_file()]
        if missing:
            raise InputError(f"missing pipeline file(s): {', '.join(missing)}", path=root / missing[0],
                             hint="run `mlops init` or add them, commit and push before setup")
        self.project = self.ado.project()
        self.repo = self.ado.repository()
        if not self.repo.default_branch:
            raise ServiceError(f"repository {self.repo.name!r} has no default branch yet", hint="push a first commit, then run setup again")
        self.branch = self.repo.default_branch
        sec = self.ado.client("security")
        self.repo_token = f"repoV2/{self.project.id}/{self.repo.id}"
        def can(ns, bit, token):
            return bool(self.call("check the token's rights", sec.has_permissions, ns, bit, tokens=token)[0])
        lacking = []
        if not can(BUILD_NAMESPACE, EDIT_BUILD_DEFINITION, self.project.id):
            lacking.append("Edit build pipeline (Pipelines > Manage security)")
        if not can(GIT_NAMESPACE, EDIT_POLICIES, self.repo_token):
            lacking.append(f"Edit policies on repository {self.repo.name} (Project settings > Repositories > Security)")
        if lacking:
            raise ServiceError("the token may not " + "; ".join(lacking),
                               hint="run setup with a project administrator's PAT (AZURE_DEVOPS_EXT_PAT)")
        self.can_manage_permissions = can(GIT_NAMESPACE, MANAGE_PERMISSIONS, self.repo_token)
        ims = self.ado.client("identity")
        self.approvers = []
        for name in self.cfg.approvers:
            found = self.call(f"look up approver {name!r}", ims.read_identities, search_filter="General", filter_value=name)
            if not found:
                raise InputError(f"approver {name!r} (scm.azure_devops.approvers) is not a user or group in the organization",
                                 path=self.ctx.config.path)
            self.approvers.append(found[0])
        self.approvers_from_token = not self.approvers
        if self.approvers_from_token:
            self.approvers = [self.token_identity()]
        self.build_identity = None
        found = self.call("look up the build service identity", ims.read_identities, search_filter="General",
                          filter_value=self.t.build_service_identity)
        self.build_identity = found[0] if found else None
        self.endpoint = None
        if self.cfg.key_vault:
            if not self.cfg.service_connection:
                raise InputError("scm.azure_devops.key_vault needs scm.azure_devops.service_connection (the Azure "
                                 "Resource Manager service connection that may read the vault)", path=self.ctx.config.path)
            se = self.ado.client("service_endpoint")
            eps = self.call("look up the service connection", se.get_service_endpoints_by_names, self.t.project,
                            [self.cfg.service_connection])
            if not eps:
                raise InputError(f"service connection {self.cfg.service_connection!r} does not exist in project "
                                 f"{self.t.project!r}", path=self.ctx.config.path)
            self.endpoint = eps[0]

    def token_identity(self) -> Any:
        """Who the token belongs to (``GET _apis/connectionData`` -> authenticatedUser): the approver of
        production when scm.azure_devops.approvers is empty. A token that is no person's is refused."""
        loc = self.ado.client("location")
        data = self.call("read the token's identity (connectionData)", loc.get_connection_data)
        user = getattr(data, "authenticated_user", None)
        descriptor = str(getattr(user, "descriptor", "") or "")
        if user is None or not user.id or descriptor.startswith(SERVICE_DESCRIPTORS):
            who = f" ({_ident_name(user)})" if user is not None and _ident_name(user) else ""
            config = self.ctx.config
            raise InputError(
                "scm.azure_devops.approvers is empty and the token is not a person's" + who +
                ": nobody could approve the production environment",
                path=config.path, line=config.line("scm", "azure_devops", "approvers"),
                hint="list who approves releases to production in scm.azure_devops.approvers",
            )
        return user

    # ---------------------------------------------------------- plan
    def plan(self) -> list[Step]:
        steps: list[Step] = []
        steps += self.plan_pipelines()
        steps += self.plan_environments()
        steps += self.plan_variable_group()
        steps += self.plan_policy()
        steps += self.plan_permissions()
        return steps

    def _definition_name(self, key: str) -> str:
        return f"{self.ctx.config.project}-{key}"

    def plan_pipelines(self) -> list[Step]:
        build = self.ado.client("build")
        folder = self.cfg.pipelines_folder or "\\"
        self.definition_ids: dict[str, Any] = {}
        steps = []
        for key, yaml_path in PIPELINES.items():
            name = self._definition_name(key)
            existing = self.call("list build definitions", build.get_definitions, self.t.project, name=name, path=folder)
            desired = {"name": name, "path": folder, "type": "build", "queueStatus": "enabled",
                       "process": {"type": 2, "yamlFilename": yaml_path},
                       "repository": {"id": self.repo.id, "name": self.repo.name, "type": "TfsGit",
                                      "defaultBranch": self.branch, "url": self.repo.remote_url},
                       "triggers": [{"triggerType": "continuousIntegration", "settingsSourceType": 2,
                                     "branchFilters": [], "pathFilters": [], "batchChanges": False,
                                     "maxConcurrentBuildsPerBranch": 1}]}
            if not existing:
                steps.append(Step("pipeline", name, "create", yaml_path, lambda d=desired, k=key: self.create_definition(k, d)))
                continue
            full = self.call("read a build definition", build.get_definition, self.t.project, existing[0].id)
            self.definition_ids[key] = full.id
            process = full.process or {}
            same = (process.get("yamlFilename") == yaml_path and full.repository and full.repository.id == self.repo.id
                    and full.repository.default_branch == self.branch)
            if same:
                steps.append(Step("pipeline", name, "unchanged", f"#{full.id} {yaml_path}"))
            else:
                steps.append(Step("pipeline", name, "update", f"#{full.id} -> {yaml_path} on {self.branch}",
                                  lambda d=desired, f=full: self.update_definition(f, d)))
        return steps

    def create_definition(self, key: str, desired: dict[str, Any]) -> None:
        created = self.call(f"create pipeline {desired['name']}", self.ado.client("build").create_definition,
                            desired, self.t.project)
        self.definition_ids[key] = created.id

    def update_definition(self, full: Any, desired: dict[str, Any]) -> None:
        full.process = desired["process"]
        full.repository.id, full.repository.name = self.repo.id, self.repo.name
        full.repository.type, full.repository.default_branch = "TfsGit", self.branch
        self.call(f"update pipeline {full.name}", self.ado.client("build").update_definition, full, self.t.project, full.id)

    def plan_environments(self) -> list[Step]:
        ta = self.ado.client("task_agent")
        steps = []
        self.env_ids: dict[str, Any] = {}
        for name in ENVIRONMENTS:
            found = self.call("list environments", ta.get_environments, self.t.project, name=name)
            if found:
                self.env_ids[name] = found[0].id
                steps.append(Step("environment", name, "unchanged", f"#{found[0].id}"))
            else:
                steps.append(Step("environment", name, "create", "", lambda n=name: self.create_environment(n)))
        steps.append(self.plan_approval())
        return steps

    def create_environment(self, name: str) -> None:
        env = self.call(f"create environment {name}", self.ado.client("task_agent").add_environment,
                        {"name": name, "description": f"{self.ctx.config.project}: {name} (mlops azure-devops setup)"},
                        self.t.project)
        self.env_ids[name] = env.id

    def _approval_settings(self) -> dict[str, Any]:
        return {"approvers": [{"id": a.id, "displayName": _ident_name(a)} for a in self.approvers],
                "executionOrder": 1, "minRequiredApprovers": 0, "requesterCannotBeApprover": False, "blockedApprovers": [],
                "instructions": f"Approve the release of {self.ctx.config.model.name} to production."}

    def checks(self, method: str, *, id: Any = None, query: dict[str, str] | None = None, body: Any = None) -> Any:
        """Pipelines Checks configurations through the SDK's own request machinery (``Client._send``
        with the location id): the SDK's CheckConfiguration model has no ``settings``, so its typed
        methods would drop the approvers."""
        from ..adapters.azure.connection import send as send_request

        client = self.ado.client("pipelines_checks")
        route = {"project": self.t.project}
        if id is not None:
            route["id"] = str(id)

        def send():
            resp = send_request(client, http_method=method, location_id="86c8381e-5aee-4cde-8ae4-25c0c7f5eaea",
                                version="7.1-preview.1", route_values=route, query_parameters=query, content=body)
            return resp.json()

        return self.call(f"{method} pipeline checks", send)

    def plan_approval(self) -> Step:
        """Production always ends with an approval check: the configured approvers, else the token's
        identity; an approval check someone made by hand is kept when no approvers are configured."""
        want = sorted(a.id for a in self.approvers)
        who = "approvers: " + ", ".join(_ident_name(a) or a.id for a in self.approvers)
        if self.approvers_from_token:
            who += " (the token's identity: scm.azure_devops.approvers is empty)"
        env_id = self.env_ids.get("production")
        if env_id is not None:
            checks = self.checks("GET", query={"resourceType": "environment", "resourceId": str(env_id), "$expand": "settings"})
            for c in checks.get("value") or []:
                if ((c.get("type") or {}).get("id") or "").lower() == APPROVAL_CHECK:
                    have = sorted(a.get("id") for a in (c.get("settings") or {}).get("approvers", []))
                    if have == want or (self.approvers_from_token and have):
                        return Step("approval", "production", "unchanged", f"check #{c['id']}, approvers: "
                                    + ", ".join(a.get("displayName") or a.get("id") for a in c["settings"]["approvers"]))
                    body = {**{k: c[k] for k in ("id", "type", "resource") if k in c}, "settings": self._approval_settings()}
                    return Step("approval", "production", "update", who,
                                lambda cid=c["id"], b=body: self.checks("PATCH", id=cid, body=b))
        return Step("approval", "production", "create", who, self.create_approval)

    def create_approval(self) -> None:
        env_id = self.env_ids["production"]
        body = {"type": {"id": APPROVAL_CHECK, "name": "Approval"}, "settings": self._approval_settings(),
                "resource": {"type": "environment", "id": str(env_id), "name": "production"}, "timeout": 43200}
        self.checks("POST", body=body)

    def plan_variable_group(self) -> list[Step]:
        # the groups the shipped pipelines reference, unless the config names one group for all
        groups = [self.cfg.variable_group] if self.cfg.variable_group else referenced_groups(self.ctx.root)
        steps: list[Step] = []
        for name in groups or [DEFAULT_GROUP]:
            steps += self._plan_one_group(name)
        return steps

    def _plan_one_group(self, name: str) -> list[Step]:
        names = secret_names(self.ctx.root)
        kv = self.cfg.key_vault
        if kv:  # Key Vault secret names allow letters, digits and dashes only
            vault_names = [n.replace("_", "-") for n in names]
            if vault_names != names:
                self.manual.append(f"Key Vault secret names cannot contain '_': the group exposes "
                                   f"{', '.join(vault_names)}; map e.g. {names[0]}: $({vault_names[0]}) in env:")
            names = vault_names
        ta = self.ado.client("task_agent")
        found = self.call("list variable groups", ta.get_variable_groups, self.t.project, group_name=name)
        if not found:
            if not kv:
                self.manual.append(f"fill in the values of {', '.join(names)} in Pipelines > Library > {name}")
            return [Step("variable-group", name, "create", ("Key Vault " + kv + ": " if kv else "secrets: ") + ", ".join(names),
                         lambda: self.save_group(None, name, names))]
        group = found[0]
        have = set((group.variables or {}).keys())
        linked_ok = (group.type == "AzureKeyVault") == bool(kv)
        if set(names) <= have and linked_ok:
            return [Step("variable-group", name, "unchanged", f"#{group.id}")]
        return [Step("variable-group", name, "update", "add " + ", ".join(sorted(set(names) - have)) if linked_ok else
                     "link to Key Vault " + str(kv), lambda: self.save_group(group, name, names))]

    def save_group(self, group: Any, name: str, names: list[str]) -> None:
        """Through ``Client._send`` with the variable-groups location id and a plain JSON body: the SDK's
        VariableGroupParameters would drop Key Vault providerData (its model has no fields for it)."""
        desc = "secrets the pipelines map through env: (mlops azure-devops setup)"
        ref = {"name": name, "description": desc, "projectReference": {"id": self.project.id, "name": self.project.name}}
        if self.cfg.key_vault:
            variables = {n: {"isSecret": True, "enabled": True, "contentType": ""} for n in names}
            body = {"name": name, "description": desc, "type": "AzureKeyVault", "variables": variables,
                    "providerData": {"serviceEndpointId": self.endpoint.id, "vault": self.cfg.key_vault},
                    "variableGroupProjectReferences": [ref]}
        else:
            variables = {k: {"isSecret": bool(v.is_secret), "value": v.value, "isReadOnly": bool(v.is_read_only)}
                         for k, v in ((group.variables or {}) if group else {}).items()}
            for n in names:  # names only: values are left for a person; existing values are kept
                variables.setdefault(n, {"isSecret": True, "value": ""})
            body = {"name": name, "description": desc, "type": "Vsts", "variables": variables,
                    "variableGroupProjectReferences": [ref]}
        from ..adapters.azure.connection import send as send_request

        client = self.ado.client("task_agent")
        route = {"groupId": str(group.id)} if group is not None else {}

        def send():
            return send_request(client, http_method="PUT" if group is not None else "POST",
                                location_id="ef5b7057-ffc3-4c77-bbad-c10b4a4abcc7", version="7.1-preview.2",
                                route_values=route, content=body).json()

        self.call(f"{'update' if group is not None else 'create'} variable group {name}", send)

    def plan_policy(self) -> list[Step]:
        pol = self.ado.client("policy")
        pr_id = self.definition_ids.get("pr")
        name = f"build validation on {self.branch}"
        if pr_id is not None:
            for c in self.call("list branch policies", pol.get_policy_configurations, self.t.project, policy_type=BUILD_POLICY):
                s = c.settings or {}
                scopes = s.get("scope") or []
                if (s.get("buildDefinitionId") == pr_id and c.is_enabled and c.is_blocking
                        and any(x.get("repositoryId") == self.repo.id and x.get("refName") == self.branch for x in scopes)):
                    return [Step("policy", name, "unchanged", f"#{c.id} runs {self._definition_name('pr')}")]
        return [Step("policy", name, "create", f"runs {self._definition_name('pr')} on pull requests", self.create_policy)]

    def create_policy(self) -> None:
        body = {"isEnabled": True, "isBlocking": True, "type": {"id": BUILD_POLICY},
                "settings": {"buildDefinitionId": self.definition_ids["pr"], "queueOnSourceUpdateOnly": True,
                             "manualQueueOnly": False, "displayName": f"{self.ctx.config.project} PR", "validDuration": 720,
                             "scope": [{"repositoryId": self.repo.id, "refName": self.branch, "matchKind": "Exact"}]}}
        self.call("create the build-validation policy", self.ado.client("policy").create_policy_configuration, body, self.t.project)

    def plan_permissions(self) -> list[Step]:
        who = self.t.build_service_identity
        wanted = sum(GIT_PERMS.values())
        by_hand = (f"grant '{who}' Allow on {', '.join(GIT_PERMS)} in Project settings > Repositories > "
                   f"{self.repo.name} > Security")
        if self.build_identity is None:
            self.manual.append(by_hand)
            return [Step("permissions", who, "manual", "identity not found (has a pipeline run yet?)")]
        sec = self.ado.client("security")
        acls = self.call("read repository permissions", sec.query_access_control_lists, GIT_NAMESPACE,
                         token=self.repo_token, descriptors=self.build_identity.descriptor, include_extended_info=True)
        allow = 0
        for acl in acls:
            for ace in (acl.aces_dictionary or {}).values():
                info = ace.extended_info
                allow |= (info.effective_allow if info and info.effective_allow is not None else ace.allow or 0)
        if allow & wanted == wanted:
            return [Step("permissions", who, "unchanged", ", ".join(GIT_PERMS))]
        if not self.can_manage_permissions:
            self.manual.append(by_hand)
            return [Step("permissions", who, "manual", "the token may not manage permissions")]
        body = {"token": self.repo_token, "merge": True,
                "accessControlEntries": [{"descriptor": self.build_identity.descriptor, "allow": wanted, "deny": 0,
                                          "extendedInfo": {}}]}
        return [Step("permissions", who, "update", ", ".join(GIT_PERMS) + f" on {self.repo.name}",
                     lambda: self.call("grant the build service identity", sec.set_access_control_entries, body, GIT_NAMESPACE))]


def run(ctx: Context, ado: AzureDevOps | None = None) -> SetupResult:
    from ..adapters.azure.connection import from_context

    ado = ado or from_context(ctx, need_repository=True)
    s = _Setup(ctx, ado)
    s.preflight()
    steps = s.plan()
    result = SetupResult(ado.target.organization_url, ado.target.project or "", ado.target.repository or "",
                         s.branch, ctx.dry_run, steps, s.manual)
    if ctx.dry_run:
        return result
    done: list[str] = []
    for step in steps:
        if step.apply is None:
            continue
        try:
            step.apply()
        except MlopsError as exc:
            so_far = "; ".join(done) or "nothing"
            raise type(exc)(f"{step.action} {step.kind} {step.name} failed: {exc.message} (done before it: {so_far})",
                            hint=exc.hint) from exc
        done.append(f"{step.action}d {step.kind} {step.name}")
    return result
