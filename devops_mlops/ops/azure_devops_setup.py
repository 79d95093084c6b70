"""`mlops azure-devops setup`: wire the project into Azure DevOps, through the administration port
(``ctx.devops_admin``, :mod:`devops_mlops.ports.devops_admin`).

Creates or updates, idempotently: the three YAML pipelines (azure-pipelines/pr.yml, release.yml,
monitoring.yml on the repository's default branch), environments ``staging`` and ``production``
with an approval check on production (scm.azure_devops.approvers, else the identity of the
token: never none), the variable groups of the secret names the pipelines map through ``env:``
(names only; or linked to a Key Vault), the build-validation policy on the default branch running
the PR pipeline, and Contribute / Create branch / Contribute to pull requests for
'<project> Build Service (<org>)' on the repository (or, when the token may not manage
permissions, what to grant by hand).

Everything is read and checked first (project, repository, files, approvers, service connection,
rights); only then is anything changed. A failure part-way names what was already done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, MlopsError, ServiceError
from ..ports.devops_admin import DevOpsAdmin, Identity, KeyVault
from .azure_devops_plan import Checked, Planner, Step

PIPELINES = {"pr": "azure-pipelines/pr.yml", "release": "azure-pipelines/release.yml", "monitoring": "azure-pipelines/monitoring.yml"}
DEFAULT_SECRETS = ("DATABRICKS_HOST", "DATABRICKS_TOKEN")
_ENV_REF = re.compile(r"^\s+([A-Z][A-Z0-9_]*):\s*\$\(([A-Z][A-Z0-9_]*)\)\s*$", re.MULTILINE)
_GROUP_REF = re.compile(r"^\s*-\s*group:\s*['\"]?([^'\"#\s]+)", re.MULTILINE)


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


def referenced_groups(root: Path) -> list[str]:
    """The variable groups the pipelines reference (``- group: NAME``), in order of appearance."""
    names: list[str] = []
    for path in sorted((root / "azure-pipelines").rglob("*.y*ml")):
        for name in _GROUP_REF.findall(path.read_text(encoding="utf-8", errors="replace")):
            if "$" not in name and name not in names:
                names.append(name)
    return names


def preflight(ctx: Any, admin: DevOpsAdmin) -> Checked:
    """Read and check everything setup needs; raise before anything is changed."""
    root, cfg = ctx.root, ctx.config.scm.azure_devops
    missing = [p for p in PIPELINES.values() if not (root / p).is_file()]
    if missing:
        raise InputError(f"missing pipeline file(s): {', '.join(missing)}", path=root / missing[0],
                         hint="run `mlops init` or add them, commit and push before setup")
    admin.project()
    repo = admin.repository()
    if not repo.default_branch:
        raise ServiceError(f"repository {repo.name!r} has no default branch yet", hint="push a first commit, then run setup again")
    lacking = []
    if not admin.token_may("edit pipelines"):
        lacking.append("Edit build pipeline (Pipelines > Manage security)")
    if not admin.token_may("edit policies"):
        lacking.append(f"Edit policies on repository {repo.name} (Project settings > Repositories > Security)")
    if lacking:
        raise ServiceError("the token may not " + "; ".join(lacking),
                           hint="run setup with a project administrator's PAT (AZURE_DEVOPS_EXT_PAT)")
    may_manage = admin.token_may("manage permissions")
    approvers = []
    for name in cfg.approvers:
        found = admin.approver(name)
        if found is None:
            raise InputError(f"approver {name!r} (scm.azure_devops.approvers) is not a user or group in the organization",
                             path=ctx.config.path)
        approvers.append(found)
    from_token = not approvers
    if from_token:
        approvers = [token_approver(ctx, admin)]
    build_identity = admin.build_identity()
    vault = None
    if cfg.key_vault:
        if not cfg.service_connection:
            raise InputError("scm.azure_devops.key_vault needs scm.azure_devops.service_connection (the Azure "
                             "Resource Manager service connection that may read the vault)", path=ctx.config.path)
        endpoint = admin.service_connection(cfg.service_connection)
        if endpoint is None:
            raise InputError(f"service connection {cfg.service_connection!r} does not exist in project "
                             f"{admin.project_name!r}", path=ctx.config.path)
        vault = KeyVault(cfg.key_vault, endpoint)
    groups = [cfg.variable_group] if cfg.variable_group else referenced_groups(root)
    return Checked(repo.default_branch, approvers, from_token, build_identity, may_manage, vault,
                   secret_names(root), groups)


def token_approver(ctx: Any, admin: DevOpsAdmin) -> Identity:
    """Who the token belongs to: the approver of production when scm.azure_devops.approvers is
    empty. A token that is no person's is refused."""
    user = admin.token_identity()
    if user is None or not user.id or not user.person:
        who = f" ({user.name})" if user is not None and user.name else ""
        config = ctx.config
        raise InputError(
            "scm.azure_devops.approvers is empty and the token is not a person's" + who +
            ": nobody could approve the production environment",
            path=config.path, line=config.line("scm", "azure_devops", "approvers"),
            hint="list who approves releases to production in scm.azure_devops.approvers",
        )
    return user


def apply(steps: list[Step]) -> None:
    """Apply the steps in order; a failure names the step and what was done before it."""
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


def run(ctx: Any, admin: DevOpsAdmin | None = None) -> SetupResult:
    """Check, plan and (unless ``ctx.dry_run``) apply; ``admin`` defaults to ``ctx.devops_admin``."""
    admin = admin if admin is not None else ctx.devops_admin
    checked = preflight(ctx, admin)
    planner = Planner(admin, checked, project=ctx.config.project, model=ctx.config.model.name,
                      folder=ctx.config.scm.azure_devops.pipelines_folder or "\\", pipelines=PIPELINES)
    steps = planner.plan()
    result = SetupResult(admin.organization_url, admin.project_name, admin.repository_name, checked.branch,
                         ctx.dry_run, steps, planner.manual)
    if not ctx.dry_run:
        apply(steps)
    return result

