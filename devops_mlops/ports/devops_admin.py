"""Azure DevOps administration port: what `mlops azure-devops setup` reads and changes in the
project and repository of ``scm.azure_devops`` (pipelines, environments and their approval check,
variable groups, the build-validation policy, the build identity's rights on the repository).

An adapter is bound to one organization, project and repository; every method works on those.
Errors are :class:`devops_mlops.errors.MlopsError` (a missing project or repository is a
``ServiceError`` with ``code`` ``"TF200016"`` / ``"TF401019"``); ``action`` texts in their
messages say what was being done ("cannot create pipeline churn-pr: ...").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

#: the repository rights the pipelines' build identity needs (commit back, open pull requests)
REPOSITORY_RIGHTS = ("Contribute", "Create branch", "Contribute to pull requests")
#: the token rights setup checks before it changes anything
TOKEN_RIGHTS = ("edit pipelines", "edit policies", "manage permissions")


def organization_name(url: str) -> str:
    """The organization of an organization URL (``https://dev.azure.com/<org>``,
    ``https://<org>.visualstudio.com``, an emulator's ``http://127.0.0.1:PORT/<org>``)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    segments = [s for s in parts.path.split("/") if s]
    if host.endswith(".visualstudio.com"):
        return host.split(".")[0]
    if segments:
        return segments[0] if host in ("dev.azure.com", "vssps.dev.azure.com") else segments[-1]
    return host


def build_service_name(project: str | None, organization: str | None) -> str:
    """The project-scoped identity Azure DevOps creates for each project: the one pipelines run as."""
    return f"{project or '<project>'} Build Service ({organization or '<organization>'})"


@dataclass(frozen=True)
class Identity:
    id: str
    name: str  # the display name
    descriptor: str = ""
    #: False for a service (a build service, a service principal): nobody who can approve a release
    person: bool = True


@dataclass(frozen=True)
class Project:
    id: str
    name: str


@dataclass(frozen=True)
class Repository:
    id: str
    name: str
    default_branch: str | None  # "refs/heads/main"; None before the first push
    remote_url: str = ""


@dataclass(frozen=True)
class Pipeline:
    """A YAML pipeline (build definition) as the service has it."""

    id: int
    name: str
    yaml_path: str | None
    repository_id: str | None
    default_branch: str | None


@dataclass(frozen=True)
class PipelineSpec:
    """A YAML pipeline as setup wants it: in ``folder``, running ``yaml_path`` of the repository."""

    name: str
    folder: str
    yaml_path: str
    repository: Repository
    branch: str


@dataclass(frozen=True)
class ApprovalCheck:
    id: int
    approvers: tuple[Identity, ...]


@dataclass(frozen=True)
class Variable:
    value: str | None = ""
    secret: bool = True
    #: None: not said (a variable setup adds); True/False: as the service had it
    read_only: bool | None = None


@dataclass(frozen=True)
class KeyVault:
    vault: str
    service_connection_id: str


@dataclass
class VariableGroup:
    name: str
    variables: dict[str, Variable] = field(default_factory=dict)
    description: str = ""
    #: set: the group is linked to this Key Vault (its variables are names of the vault's secrets)
    key_vault: KeyVault | None = None
    id: int | None = None  # None: not created yet


@dataclass(frozen=True)
class BuildPolicy:
    """A build-validation branch policy: ``definition_id`` must pass on pull requests into the scopes."""

    id: int
    definition_id: int | None
    enabled: bool
    blocking: bool
    scopes: tuple[tuple[str, str], ...]  # (repository id, ref name)


class DevOpsAdmin(Protocol):
    organization_url: str
    project_name: str
    repository_name: str
    #: '<project> Build Service (<org>)'
    build_service_identity: str

    def project(self) -> Project: ...

    def repository(self) -> Repository: ...

    def token_may(self, right: str) -> bool:
        """Whether the token holds ``right`` (one of :data:`TOKEN_RIGHTS`) on the project / repository."""
        ...

    def approver(self, name: str) -> Identity | None:
        """A user or group of the organization, by name or account, who may approve a release."""
        ...

    def build_identity(self) -> Identity | None:
        """The project's build service identity (None when the organization has none yet)."""
        ...

    def token_identity(self) -> Identity | None:
        """Who the token belongs to (None when the service does not say)."""
        ...

    def service_connection(self, name: str) -> str | None:
        """The id of the project's service connection ``name``."""
        ...

    def pipeline(self, name: str, folder: str) -> Pipeline | None: ...

    def create_pipeline(self, spec: PipelineSpec) -> int: ...

    def update_pipeline(self, pipeline_id: int, spec: PipelineSpec) -> None: ...

    def environment(self, name: str) -> int | None: ...

    def create_environment(self, name: str, description: str) -> int: ...

    def approval_checks(self, environment_id: int) -> list[ApprovalCheck]:
        """The approval checks on the environment (other kinds of check left out)."""
        ...

    def create_approval(self, environment_id: int, environment_name: str, approvers: list[Identity],
                        instructions: str) -> None: ...

    def update_approval(self, check_id: int, approvers: list[Identity], instructions: str) -> None: ...

    def variable_group(self, name: str) -> VariableGroup | None: ...

    def save_variable_group(self, group: VariableGroup) -> None:
        """Create the group (``group.id`` None) or replace it (variables, Key Vault link)."""
        ...

    def build_policies(self) -> list[BuildPolicy]: ...

    def create_build_policy(self, definition_id: int, display_name: str, branch: str) -> None:
        """A blocking build-validation policy on ``branch`` of the repository."""
        ...

    def repository_rights(self, identity: Identity) -> set[str]:
        """Which of :data:`REPOSITORY_RIGHTS` ``identity`` is allowed on the repository."""
        ...

    def grant_repository_rights(self, identity: Identity, rights: tuple[str, ...]) -> None: ...
