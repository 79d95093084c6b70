"""In-memory Azure DevOps administration (:class:`devops_mlops.ports.devops_admin.DevOpsAdmin`) for
use-case tests of `mlops azure-devops setup`.

One organization, project and repository, with the project's build service identity and the
token's own user. Rights can be taken away (:meth:`FakeDevOpsAdmin.revoke`); a write the token may
not make, or one :meth:`FakeDevOpsAdmin.fail_on` names, raises the ``ServiceError`` the adapter
raises. As the service does, a secret's value is never read back, and a secret saved without
its value keeps the one stored. State and assertion helpers: ``pipelines``, ``environments``,
``checks``, ``variable_groups``, ``policies``, ``acl``, ``writes`` (every change, in order),
:meth:`~FakeDevOpsAdmin.pipeline_named`, :meth:`~FakeDevOpsAdmin.approvers_of`.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

from ...errors import ServiceError
from ...ports.devops_admin import (
    REPOSITORY_RIGHTS,
    TOKEN_RIGHTS,
    ApprovalCheck,
    BuildPolicy,
    Identity,
    Pipeline,
    PipelineSpec,
    Project,
    Repository,
    Variable,
    VariableGroup,
    build_service_name,
)


def _error(action: str, text: str, code: str) -> ServiceError:
    err = ServiceError(f"cannot {action}: {text}")
    err.code = code  # type: ignore[attr-defined]
    return err


class FakeDevOpsAdmin:
    def __init__(self, *, organization: str = "contoso", project: str = "ml", repository: str = "models",
                 default_branch: str | None = "refs/heads/main", exists: bool = True) -> None:
        self.organization_url = f"https://dev.azure.com/{organization}"
        self.project_name, self.repository_name = project, repository
        self.build_service_identity = build_service_name(project, organization)
        #: False: the project is not in the organization (TF200016)
        self.exists = exists
        self.repositories = {repository: Repository("repo-1", repository, default_branch,
                                                    f"{self.organization_url}/{project}/_git/{repository}")}
        self._ids = itertools.count(1)
        #: lower-case display name or account -> identity
        self.identities: dict[str, Identity] = {}
        #: who the token belongs to (None: the service does not say)
        self.user: Identity | None = self.add_identity("Fake User", account="user@contoso.com")
        #: the project's build service identity (None: no pipeline has run yet)
        self.build_service: Identity | None = self.add_identity(self.build_service_identity, person=False)
        self.rights: set[str] = set(TOKEN_RIGHTS)
        self.service_connections: dict[str, str] = {}
        self.pipelines: dict[int, Pipeline] = {}
        self.folders: dict[int, str] = {}
        self.environments: dict[int, str] = {}
        #: check id -> {"environment": id, "approvers": [Identity], "instructions": str}
        self.checks: dict[int, dict[str, Any]] = {}
        self.variable_groups: dict[int, VariableGroup] = {}
        self.policies: dict[int, BuildPolicy] = {}
        #: identity descriptor -> repository rights allowed
        self.acl: dict[str, set[str]] = {}
        self.writes: list[str] = []
        self._failing: dict[str, ServiceError] = {}

    # ------------------------------------------------------------ setting the scene
    def add_identity(self, name: str, *, account: str = "", person: bool = True) -> Identity:
        n = next(self._ids)
        kind = "Microsoft.IdentityModel.Claims.ClaimsIdentity" if person else "Microsoft.TeamFoundation.ServiceIdentity"
        ident = Identity(f"id-{n}", name, f"{kind};{account or name}", person)
        self.identities[name.lower()] = self.identities[(account or name).lower()] = ident
        return ident

    def add_service_connection(self, name: str) -> str:
        self.service_connections[name] = f"endpoint-{next(self._ids)}"
        return self.service_connections[name]

    def revoke(self, right: str) -> None:
        """The token loses ``right`` (one of TOKEN_RIGHTS): checks answer False, its writes fail (403)."""
        self.rights.discard(right)

    def fail_on(self, operation: str, message: str = "TF400813: not authorized", code: str = "403") -> None:
        """Writes of ``operation`` ("create pipeline", "save variable group", ...) fail from now on."""
        self._failing[operation] = _error(operation, message, code)

    def _write(self, operation: str, name: str, right: str | None = None) -> None:
        if right is not None and right not in self.rights:
            raise _error(f"{operation} {name}", "the token has no right to do this (403)", "403")
        if operation in self._failing:
            raise self._failing[operation]
        self.writes.append(f"{operation} {name}")

    # ------------------------------------------------------------ project, repository, rights
    def project(self) -> Project:
        if not self.exists:
            raise _error(f"read project {self.project_name!r}",
                         f"project {self.project_name!r} does not exist in {self.organization_url} (TF200016)", "TF200016")
        return Project("project-1", self.project_name)

    def repository(self) -> Repository:
        self.project()
        if self.repository_name not in self.repositories:
            raise _error(f"read repository {self.repository_name!r}",
                         f"repository {self.repository_name!r} is not in project {self.project_name!r} on Azure Repos "
                         "(TF401019)", "TF401019")
        return self.repositories[self.repository_name]

    def token_may(self, right: str) -> bool:
        if right not in TOKEN_RIGHTS:
            raise KeyError(right)
        return right in self.rights

    def repository_rights(self, identity: Identity) -> set[str]:
        return set(self.acl.get(identity.descriptor, set()))

    def grant_repository_rights(self, identity: Identity, rights: tuple[str, ...]) -> None:
        self._write("grant", identity.name, "manage permissions")
        self.acl.setdefault(identity.descriptor, set()).update(r for r in rights if r in REPOSITORY_RIGHTS)

    # ------------------------------------------------------------ identities, service connections
    def approver(self, name: str) -> Identity | None:
        return self.identities.get(name.lower())

    def build_identity(self) -> Identity | None:
        return self.build_service

    def token_identity(self) -> Identity | None:
        return self.user

    def service_connection(self, name: str) -> str | None:
        return self.service_connections.get(name)

    # ------------------------------------------------------------ pipelines, environments, checks
    def pipeline(self, name: str, folder: str) -> Pipeline | None:
        return next((p for i, p in self.pipelines.items() if p.name == name and self.folders[i] == folder), None)

    def pipeline_named(self, name: str) -> Pipeline:
        """Assertion helper: the pipeline ``name`` (KeyError when there is none)."""
        return next(p for p in self.pipelines.values() if p.name == name)

    def create_pipeline(self, spec: PipelineSpec) -> int:
        self._write("create pipeline", spec.name, "edit pipelines")
        if self.pipeline(spec.name, spec.folder) is not None:
            raise _error(f"create pipeline {spec.name}", f"The build definition name {spec.name} already exists", "")
        pid = next(self._ids)
        self.pipelines[pid] = Pipeline(pid, spec.name, spec.yaml_path, spec.repository.id, spec.branch)
        self.folders[pid] = spec.folder
        return pid

    def update_pipeline(self, pipeline_id: int, spec: PipelineSpec) -> None:
        self._write("update pipeline", spec.name, "edit pipelines")
        self.pipelines[pipeline_id] = replace(self.pipelines[pipeline_id], yaml_path=spec.yaml_path,
                                              repository_id=spec.repository.id, default_branch=spec.branch)

    def environment(self, name: str) -> int | None:
        return next((i for i, n in self.environments.items() if n.lower() == name.lower()), None)

    def create_environment(self, name: str, description: str) -> int:
        self._write("create environment", name)
        if self.environment(name) is not None:
            raise _error(f"create environment {name}", f"Environment '{name}' already exists", "")
        eid = next(self._ids)
        self.environments[eid] = name
        return eid

    def approval_checks(self, environment_id: int) -> list[ApprovalCheck]:
        return [ApprovalCheck(cid, tuple(c["approvers"])) for cid, c in self.checks.items()
                if c["environment"] == environment_id]

    def approvers_of(self, environment: str) -> list[str]:
        """Assertion helper: the names of who approves ``environment``."""
        eid = self.environment(environment)
        return [a.name for c in self.checks.values() if c["environment"] == eid for a in c["approvers"]]

    def create_approval(self, environment_id: int, environment_name: str, approvers: list[Identity],
                        instructions: str) -> None:
        self._write("create approval", environment_name)
        if environment_id not in self.environments or not approvers:
            raise _error("POST pipeline checks", "an approval check needs an environment and an approver", "")
        self.checks[next(self._ids)] = {"environment": environment_id, "approvers": list(approvers),
                                        "instructions": instructions}

    def update_approval(self, check_id: int, approvers: list[Identity], instructions: str) -> None:
        self._write("update approval", str(check_id))
        self.checks[check_id].update(approvers=list(approvers), instructions=instructions)

    # ------------------------------------------------------------ variable groups, policies
    def variable_group(self, name: str) -> VariableGroup | None:
        found = next((g for g in self.variable_groups.values() if g.name.lower() == name.lower()), None)
        if found is None:
            return None
        shown = {k: Variable(None if v.secret else v.value, v.secret, bool(v.read_only)) for k, v in found.variables.items()}
        return replace(found, variables=shown)

    def save_variable_group(self, group: VariableGroup) -> None:
        verb = "create" if group.id is None else "update"
        self._write("save variable group", group.name)
        if group.key_vault is not None and group.key_vault.service_connection_id not in self.service_connections.values():
            raise _error(f"{verb} variable group {group.name}", "no such service connection", "")
        gid = group.id if group.id is not None else next(self._ids)
        old = self.variable_groups[gid].variables if gid in self.variable_groups else {}
        stored = {k: replace(v, value=old[k].value) if v.secret and v.value is None and k in old else v
                  for k, v in group.variables.items()}
        self.variable_groups[gid] = replace(group, id=gid, variables=stored)

    def secret_value(self, group: str, name: str) -> str | None:
        """Assertion helper: the stored value of variable ``name`` of ``group``."""
        found = next(g for g in self.variable_groups.values() if g.name == group)
        return found.variables[name].value

    def build_policies(self) -> list[BuildPolicy]:
        return list(self.policies.values())

    def create_build_policy(self, definition_id: int, display_name: str, branch: str) -> None:
        self._write("create policy", display_name, "edit policies")
        if definition_id not in self.pipelines:
            raise _error("create the build-validation policy", f"The build definition {definition_id} does not exist", "")
        pid = next(self._ids)
        self.policies[pid] = BuildPolicy(pid, definition_id, True, True, ((self.repository().id, branch),))
