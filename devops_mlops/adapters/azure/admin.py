"""The Azure DevOps administration port (:mod:`devops_mlops.ports.devops_admin`) over the
``azure-devops`` SDK: core (project), git (repository), security (rights and ACLs), identity and
location (approvers, the token's own identity), service endpoints, build (YAML pipelines),
task agent (environments), policy (build validation). Approval checks and variable groups, whose
SDK models drop fields setup needs, are in :mod:`.admin_library`.

Every SDK call runs inside :func:`.errors.translated` with the action it performs, so a failure
reads "cannot create pipeline churn-pr: ..." with the TF code and a hint.
"""

from __future__ import annotations

from typing import Any

from ...ports.devops_admin import REPOSITORY_RIGHTS, BuildPolicy, Identity, Pipeline, PipelineSpec, Project, Repository
from .admin_library import LibraryMixin
from .connection import AzureDevOps
from .errors import translated

GIT_NAMESPACE = "2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87"
BUILD_NAMESPACE = "33344d9c-fc72-4d6f-aba5-fa317101a7e9"
#: the bits of the Git Repositories namespace behind :data:`REPOSITORY_RIGHTS`
GIT_PERMS = dict(zip(REPOSITORY_RIGHTS, (4, 16, 16384), strict=True))
MANAGE_PERMISSIONS, EDIT_POLICIES, EDIT_BUILD_DEFINITION = 8192, 2048, 2048
BUILD_POLICY = "0609b952-1397-4640-95ec-e00a01b2c241"
#: identity descriptors of services (build service, service principals), not of a person who can approve
SERVICE_DESCRIPTORS = ("Microsoft.TeamFoundation.ServiceIdentity", "Microsoft.VisualStudio.Services.Claims.AadServicePrincipal")


def _identity(sdk: Any) -> Identity:
    descriptor = str(getattr(sdk, "descriptor", "") or "")
    name = sdk.provider_display_name or sdk.custom_display_name or ""
    return Identity(sdk.id or "", name, descriptor, person=not descriptor.startswith(SERVICE_DESCRIPTORS))


class AzureDevOpsAdmin(LibraryMixin):
    """Administration of the project and repository of one :class:`.connection.AzureDevOps` target."""

    def __init__(self, ado: AzureDevOps) -> None:
        self.ado = ado
        target = ado.target
        self.organization_url = target.organization_url
        self.project_name = target.project or ""
        self.repository_name = target.repository or ""
        self.build_service_identity = target.build_service_identity
        self._project: Project | None = None
        self._repository: Repository | None = None
        #: the SDK definitions read by :meth:`pipeline`, sent back whole by :meth:`update_pipeline`
        self._definitions: dict[int, Any] = {}
        self._checks: dict[int, dict[str, Any]] = {}

    def call(self, action: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` with SDK errors translated for ``action``."""
        with translated(action, self.ado.target):
            return fn(*args, **kwargs)

    # ------------------------------------------------------------ project, repository, rights
    def project(self) -> Project:
        if self._project is None:
            found = self.ado.project()
            self._project = Project(found.id, found.name)
        return self._project

    def repository(self) -> Repository:
        if self._repository is None:
            repo = self.ado.repository()
            self._repository = Repository(repo.id, repo.name, repo.default_branch, repo.remote_url or "")
        return self._repository

    def _repo_token(self) -> str:
        return f"repoV2/{self.project().id}/{self.repository().id}"

    def token_may(self, right: str) -> bool:
        namespace, bit, token = {
            "edit pipelines": (BUILD_NAMESPACE, EDIT_BUILD_DEFINITION, self.project().id),
            "edit policies": (GIT_NAMESPACE, EDIT_POLICIES, self._repo_token()),
            "manage permissions": (GIT_NAMESPACE, MANAGE_PERMISSIONS, self._repo_token()),
        }[right]
        security = self.ado.client("security")
        return bool(self.call("check the token's rights", security.has_permissions, namespace, bit, tokens=token)[0])

    def repository_rights(self, identity: Identity) -> set[str]:
        security = self.ado.client("security")
        acls = self.call("read repository permissions", security.query_access_control_lists, GIT_NAMESPACE,
                         token=self._repo_token(), descriptors=identity.descriptor, include_extended_info=True)
        allow = 0
        for acl in acls:
            for ace in (acl.aces_dictionary or {}).values():
                info = ace.extended_info
                allow |= (info.effective_allow if info and info.effective_allow is not None else ace.allow or 0)
        return {name for name, bit in GIT_PERMS.items() if allow & bit == bit}

    def grant_repository_rights(self, identity: Identity, rights: tuple[str, ...]) -> None:
        body = {"token": self._repo_token(), "merge": True,
                "accessControlEntries": [{"descriptor": identity.descriptor, "allow": sum(GIT_PERMS[r] for r in rights),
                                          "deny": 0, "extendedInfo": {}}]}
        security = self.ado.client("security")
        self.call("grant the build service identity", security.set_access_control_entries, body, GIT_NAMESPACE)

    # ------------------------------------------------------------ identities, service connections
    def approver(self, name: str) -> Identity | None:
        ims = self.ado.client("identity")
        found = self.call(f"look up approver {name!r}", ims.read_identities, search_filter="General", filter_value=name)
        return _identity(found[0]) if found else None

    def build_identity(self) -> Identity | None:
        ims = self.ado.client("identity")
        found = self.call("look up the build service identity", ims.read_identities, search_filter="General",
                          filter_value=self.build_service_identity)
        return _identity(found[0]) if found else None

    def token_identity(self) -> Identity | None:
        location = self.ado.client("location")
        data = self.call("read the token's identity (connectionData)", location.get_connection_data)
        user = getattr(data, "authenticated_user", None)
        return None if user is None else _identity(user)

    def service_connection(self, name: str) -> str | None:
        endpoints = self.ado.client("service_endpoint")
        found = self.call("look up the service connection", endpoints.get_service_endpoints_by_names,
                          self.project_name, [name])
        return found[0].id if found else None

    # ------------------------------------------------------------ pipelines
    def pipeline(self, name: str, folder: str) -> Pipeline | None:
        build = self.ado.client("build")
        existing = self.call("list build definitions", build.get_definitions, self.project_name, name=name, path=folder)
        if not existing:
            return None
        full = self.call("read a build definition", build.get_definition, self.project_name, existing[0].id)
        self._definitions[full.id] = full
        repo = full.repository
        return Pipeline(full.id, full.name, (full.process or {}).get("yamlFilename"), repo.id if repo else None,
                        repo.default_branch if repo else None)

    def create_pipeline(self, spec: PipelineSpec) -> int:
        repo = spec.repository
        desired = {"name": spec.name, "path": spec.folder, "type": "build", "queueStatus": "enabled",
                   "process": {"type": 2, "yamlFilename": spec.yaml_path},
                   "repository": {"id": repo.id, "name": repo.name, "type": "TfsGit",
                                  "defaultBranch": spec.branch, "url": repo.remote_url},
                   "triggers": [{"triggerType": "continuousIntegration", "settingsSourceType": 2,
                                 "branchFilters": [], "pathFilters": [], "batchChanges": False,
                                 "maxConcurrentBuildsPerBranch": 1}]}
        created = self.call(f"create pipeline {spec.name}", self.ado.client("build").create_definition, desired,
                            self.project_name)
        return created.id

    def update_pipeline(self, pipeline_id: int, spec: PipelineSpec) -> None:
        build = self.ado.client("build")
        full = self._definitions.get(pipeline_id)
        if full is None:
            full = self.call("read a build definition", build.get_definition, self.project_name, pipeline_id)
        full.process = {"type": 2, "yamlFilename": spec.yaml_path}
        full.repository.id, full.repository.name = spec.repository.id, spec.repository.name
        full.repository.type, full.repository.default_branch = "TfsGit", spec.branch
        self.call(f"update pipeline {full.name}", build.update_definition, full, self.project_name, full.id)

    # ------------------------------------------------------------ environments
    def environment(self, name: str) -> int | None:
        found = self.call("list environments", self.ado.client("task_agent").get_environments, self.project_name,
                          name=name)
        return found[0].id if found else None

    def create_environment(self, name: str, description: str) -> int:
        env = self.call(f"create environment {name}", self.ado.client("task_agent").add_environment,
                        {"name": name, "description": description}, self.project_name)
        return env.id

    # ------------------------------------------------------------ branch policies
    def build_policies(self) -> list[BuildPolicy]:
        policy = self.ado.client("policy")
        out = []
        for c in self.call("list branch policies", policy.get_policy_configurations, self.project_name,
                           policy_type=BUILD_POLICY):
            settings = c.settings or {}
            scopes = tuple((x.get("repositoryId"), x.get("refName")) for x in settings.get("scope") or [])
            out.append(BuildPolicy(c.id, settings.get("buildDefinitionId"), bool(c.is_enabled), bool(c.is_blocking),
                                   scopes))
        return out

    def create_build_policy(self, definition_id: int, display_name: str, branch: str) -> None:
        body = {"isEnabled": True, "isBlocking": True, "type": {"id": BUILD_POLICY},
                "settings": {"buildDefinitionId": definition_id, "queueOnSourceUpdateOnly": True,
                             "manualQueueOnly": False, "displayName": display_name, "validDuration": 720,
                             "scope": [{"repositoryId": self.repository().id, "refName": branch, "matchKind": "Exact"}]}}
        self.call("create the build-validation policy", self.ado.client("policy").create_policy_configuration, body,
                  self.project_name)


def from_context(ctx: Any) -> AzureDevOpsAdmin:
    """The administration of the project and repository of the context's ``scm.azure_devops``."""
    from .connection import from_context as connection_from_context

    return AzureDevOpsAdmin(connection_from_context(ctx, need_repository=True))
