"""The plan of `mlops azure-devops setup`: from what the administration port reports, one
:class:`Step` per pipeline, environment, approval check, variable group, branch policy and
permission set, each saying what it would do (create, update, unchanged, manual) and carrying
the call that does it. Nothing here changes anything until a step's ``apply`` is called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..ports.devops_admin import REPOSITORY_RIGHTS, DevOpsAdmin, Identity, KeyVault, PipelineSpec, Variable, VariableGroup

ENVIRONMENTS = ("staging", "production")
DEFAULT_GROUP = "mlops-secrets"
GROUP_DESCRIPTION = "secrets the pipelines map through env: (mlops azure-devops setup)"


@dataclass
class Checked:
    """What the read-only first pass found: the plan is made from it."""

    branch: str
    approvers: list[Identity]
    approvers_from_token: bool
    build_identity: Identity | None
    may_manage_permissions: bool
    key_vault: KeyVault | None
    secrets: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


@dataclass
class Step:
    kind: str  # pipeline | environment | approval | variable-group | policy | permissions
    name: str
    action: str  # create | update | unchanged | manual
    detail: str = ""
    apply: Callable[[], Any] | None = field(default=None, repr=False, compare=False)


class Planner:
    """Plans every step; the ids a later step needs (the PR pipeline's, production's) are filled
    in by the earlier steps' ``apply`` when they create them."""

    def __init__(self, admin: DevOpsAdmin, checked: Checked, *, project: str, model: str, folder: str,
                 pipelines: dict[str, str]) -> None:
        self.admin, self.checked = admin, checked
        self.project, self.model, self.folder, self.pipelines = project, model, folder, pipelines
        self.repo = admin.repository()
        self.branch = checked.branch
        self.manual: list[str] = []
        self.definition_ids: dict[str, int] = {}
        self.env_ids: dict[str, int] = {}

    def plan(self) -> list[Step]:
        return [*self.plan_pipelines(), *self.plan_environments(), self.plan_approval(), *self.plan_variable_groups(),
                self.plan_policy(), self.plan_permissions()]

    def definition_name(self, key: str) -> str:
        return f"{self.project}-{key}"

    # ---------------------------------------------------------- pipelines, environments
    def plan_pipelines(self) -> list[Step]:
        steps = []
        for key, yaml_path in self.pipelines.items():
            spec = PipelineSpec(self.definition_name(key), self.folder, yaml_path, self.repo, self.branch)
            found = self.admin.pipeline(spec.name, self.folder)
            if found is None:
                steps.append(Step("pipeline", spec.name, "create", yaml_path, lambda s=spec, k=key: self.create_pipeline(k, s)))
                continue
            self.definition_ids[key] = found.id
            if found.yaml_path == yaml_path and found.repository_id == self.repo.id and found.default_branch == self.branch:
                steps.append(Step("pipeline", spec.name, "unchanged", f"#{found.id} {yaml_path}"))
            else:
                steps.append(Step("pipeline", spec.name, "update", f"#{found.id} -> {yaml_path} on {self.branch}",
                                  lambda i=found.id, s=spec: self.admin.update_pipeline(i, s)))
        return steps

    def create_pipeline(self, key: str, spec: PipelineSpec) -> None:
        self.definition_ids[key] = self.admin.create_pipeline(spec)

    def plan_environments(self) -> list[Step]:
        steps = []
        for name in ENVIRONMENTS:
            found = self.admin.environment(name)
            if found is not None:
                self.env_ids[name] = found
                steps.append(Step("environment", name, "unchanged", f"#{found}"))
            else:
                steps.append(Step("environment", name, "create", "", lambda n=name: self.create_environment(n)))
        return steps

    def create_environment(self, name: str) -> None:
        self.env_ids[name] = self.admin.create_environment(name, f"{self.project}: {name} (mlops azure-devops setup)")

    # ---------------------------------------------------------- approval of production
    def plan_approval(self) -> Step:
        """Production always ends with an approval check: the configured approvers, else the token's
        identity; an approval check someone made by hand is kept when no approvers are configured."""
        approvers = self.checked.approvers
        instructions = f"Approve the release of {self.model} to production."
        want = sorted(a.id for a in approvers)
        who = "approvers: " + ", ".join(a.name or a.id for a in approvers)
        if self.checked.approvers_from_token:
            who += " (the token's identity: scm.azure_devops.approvers is empty)"
        env_id = self.env_ids.get("production")
        if env_id is not None:
            for check in self.admin.approval_checks(env_id):
                have = sorted(a.id for a in check.approvers)
                if have == want or (self.checked.approvers_from_token and have):
                    return Step("approval", "production", "unchanged", f"check #{check.id}, approvers: "
                                + ", ".join(a.name or a.id for a in check.approvers))
                return Step("approval", "production", "update", who,
                            lambda cid=check.id: self.admin.update_approval(cid, approvers, instructions))
        return Step("approval", "production", "create", who,
                    lambda: self.admin.create_approval(self.env_ids["production"], "production", approvers, instructions))

    # ---------------------------------------------------------- variable groups
    def plan_variable_groups(self) -> list[Step]:
        """The groups the shipped pipelines reference, unless the config names one group for all."""
        return [self.plan_group(name) for name in self.checked.groups or [DEFAULT_GROUP]]

    def plan_group(self, name: str) -> Step:
        names = list(self.checked.secrets)
        vault = self.checked.key_vault
        if vault is not None:  # Key Vault secret names allow letters, digits and dashes only
            vault_names = [n.replace("_", "-") for n in names]
            if vault_names != names:
                self.manual.append(f"Key Vault secret names cannot contain '_': the group exposes "
                                   f"{', '.join(vault_names)}; map e.g. {names[0]}: $({vault_names[0]}) in env:")
            names = vault_names
        group = self.admin.variable_group(name)
        if group is None:
            if vault is None:
                self.manual.append(f"fill in the values of {', '.join(names)} in Pipelines > Library > {name}")
            detail = ("Key Vault " + vault.vault + ": " if vault else "secrets: ") + ", ".join(names)
            return Step("variable-group", name, "create", detail, lambda: self.save_group(None, name, names))
        have = set(group.variables)
        linked_ok = (group.key_vault is not None) == (vault is not None)
        if set(names) <= have and linked_ok:
            return Step("variable-group", name, "unchanged", f"#{group.id}")
        detail = "add " + ", ".join(sorted(set(names) - have)) if linked_ok else "link to Key Vault " + str(vault and vault.vault)
        return Step("variable-group", name, "update", detail, lambda: self.save_group(group, name, names))

    def save_group(self, group: VariableGroup | None, name: str, names: list[str]) -> None:
        """Names only: values are left for a person; the values already there are kept."""
        vault = self.checked.key_vault
        if vault is not None:
            variables = {n: Variable() for n in names}
        else:
            variables = dict(group.variables) if group is not None else {}
            for n in names:
                variables.setdefault(n, Variable("", True, None))
        self.admin.save_variable_group(VariableGroup(name, variables, GROUP_DESCRIPTION, vault,
                                                     group.id if group is not None else None))

    # ---------------------------------------------------------- policy, permissions
    def plan_policy(self) -> Step:
        pr_id = self.definition_ids.get("pr")
        name = f"build validation on {self.branch}"
        pr_name = self.definition_name("pr")
        if pr_id is not None:
            for policy in self.admin.build_policies():
                if (policy.definition_id == pr_id and policy.enabled and policy.blocking
                        and (self.repo.id, self.branch) in policy.scopes):
                    return Step("policy", name, "unchanged", f"#{policy.id} runs {pr_name}")
        return Step("policy", name, "create", f"runs {pr_name} on pull requests",
                    lambda: self.admin.create_build_policy(self.definition_ids["pr"], f"{self.project} PR", self.branch))

    def plan_permissions(self) -> Step:
        who = self.admin.build_service_identity
        by_hand = (f"grant '{who}' Allow on {', '.join(REPOSITORY_RIGHTS)} in Project settings > Repositories > "
                   f"{self.repo.name} > Security")
        identity = self.checked.build_identity
        if identity is None:
            self.manual.append(by_hand)
            return Step("permissions", who, "manual", "identity not found (has a pipeline run yet?)")
        if set(REPOSITORY_RIGHTS) <= self.admin.repository_rights(identity):
            return Step("permissions", who, "unchanged", ", ".join(REPOSITORY_RIGHTS))
        if not self.checked.may_manage_permissions:
            self.manual.append(by_hand)
            return Step("permissions", who, "manual", "the token may not manage permissions")
        return Step("permissions", who, "update", ", ".join(REPOSITORY_RIGHTS) + f" on {self.repo.name}",
                    lambda: self.admin.grant_repository_rights(identity, REPOSITORY_RIGHTS))
