"""The Azure DevOps administration port's contract (ports/devops_admin.py), run over the SDK adapter
against the Azure DevOps emulator and over the in-memory fake (testing/fakes/azure_devops.py).

Each harness offers the same scene-setting: ``admin``, ``person(name)`` (a user who can approve),
``revoke(right)``, ``service_connection(name)`` and ``set_secret(group, name, value)`` (a person
filling in a value by hand)."""

from __future__ import annotations

import pytest

from devops_mlops.errors import ServiceError
from devops_mlops.ports.devops_admin import (
    REPOSITORY_RIGHTS,
    TOKEN_RIGHTS,
    Identity,
    KeyVault,
    PipelineSpec,
    Variable,
    VariableGroup,
)
from devops_mlops.testing.fakes.azure_devops import FakeDevOpsAdmin

PAT = "admin-contract-pat"
#: the emulator's name of each right of TOKEN_RIGHTS
EMULATOR_RIGHTS = {"edit pipelines": "EditBuildDefinition", "edit policies": "EditPolicies",
                   "manage permissions": "ManagePermissions"}


class EmulatorHarness:
    def __init__(self, project: str = "ml", repository: str = "models") -> None:
        from devops_mlops.adapters.azure.admin import AzureDevOpsAdmin
        from devops_mlops.adapters.azure.connection import AzureDevOps, resolve
        from devops_mlops.testing.azure_devops import AzureDevOpsEmulator

        self.emu = AzureDevOpsEmulator(token=PAT).start()
        self.emu.add_project("ml")
        self.emu.add_repository("ml", "models", default_branch="main")
        target = resolve(organization_url=self.emu.org_url, project=project, repository=repository,
                         env={"AZURE_DEVOPS_EXT_PAT": PAT})
        self.admin = AzureDevOpsAdmin(AzureDevOps(target, backoff=0.01))

    def person(self, name: str) -> None:
        self.emu.add_identity(name, account=f"{name.split()[0].lower()}@contoso.com")

    def revoke(self, right: str) -> None:
        self.emu.revoke(EMULATOR_RIGHTS[right])

    def service_connection(self, name: str) -> None:
        self.emu.add_service_endpoint("ml", name)

    def set_secret(self, group: str, name: str, value: str) -> None:
        found = next(g for g in self.emu.variable_groups.values() if g["name"] == group)
        found["variables"][name]["value"] = value

    def secret(self, group: str, name: str) -> str | None:
        found = next(g for g in self.emu.variable_groups.values() if g["name"] == group)
        return found["variables"][name].get("value")

    def close(self) -> None:
        self.emu.stop()


class FakeHarness:
    def __init__(self, project: str = "ml", repository: str = "models") -> None:
        self.admin = FakeDevOpsAdmin(project=project, exists=project == "ml")
        self.admin.repository_name = repository  # the organization has "models" only

    def person(self, name: str) -> None:
        self.admin.add_identity(name, account=f"{name.split()[0].lower()}@contoso.com")

    def revoke(self, right: str) -> None:
        self.admin.revoke(right)

    def service_connection(self, name: str) -> None:
        self.admin.add_service_connection(name)

    def set_secret(self, group: str, name: str, value: str) -> None:
        found = next(g for g in self.admin.variable_groups.values() if g.name == group)
        found.variables[name] = Variable(value, True, False)

    def secret(self, group: str, name: str) -> str | None:
        return self.admin.secret_value(group, name)

    def close(self) -> None:
        pass


@pytest.fixture(params=["emulator", pytest.param("fake", marks=pytest.mark.fast)])
def make(request):
    made = []

    def build(**kwargs):
        h = (EmulatorHarness if request.param == "emulator" else FakeHarness)(**kwargs)
        made.append(h)
        return h

    yield build
    for h in made:
        h.close()


@pytest.fixture
def harness(make):
    return make()


def _spec(admin, name="churn-pr", yaml_path="azure-pipelines/pr.yml"):
    return PipelineSpec(name, "\\", yaml_path, admin.repository(), "refs/heads/main")


def test_project_and_repository(harness):
    admin = harness.admin
    assert admin.project().name == "ml" and admin.project_name == "ml" and admin.repository_name == "models"
    repo = admin.repository()
    assert repo.name == "models" and repo.default_branch == "refs/heads/main" and repo.id
    assert admin.build_service_identity == "ml Build Service (contoso)"


@pytest.mark.parametrize(("where", "code"), [({"project": "nope"}, "TF200016"), ({"repository": "on-github"}, "TF401019")])
def test_a_missing_project_or_repository_is_a_service_error_with_its_code(make, where, code):
    admin = make(**where).admin
    with pytest.raises(ServiceError) as err:
        admin.repository()
    assert err.value.code == code and code in err.value.message


def test_rights_of_the_token(harness):
    assert all(harness.admin.token_may(r) for r in TOKEN_RIGHTS)
    harness.revoke("edit pipelines")
    assert not harness.admin.token_may("edit pipelines") and harness.admin.token_may("edit policies")
    with pytest.raises(ServiceError) as err:
        harness.admin.create_pipeline(_spec(harness.admin))
    assert err.value.code == "403" and "create pipeline churn-pr" in err.value.message


def test_identities(harness):
    harness.person("Alice Approver")
    alice = harness.admin.approver("alice@contoso.com")
    assert alice is not None and alice.name == "Alice Approver" and alice.person and alice.id
    assert harness.admin.approver("nobody@nowhere") is None
    build = harness.admin.build_identity()
    assert build is not None and build.name == "ml Build Service (contoso)" and not build.person
    token = harness.admin.token_identity()
    assert token is not None and token.person and token.id


def test_pipelines_are_created_found_and_updated(harness):
    admin = harness.admin
    assert admin.pipeline("churn-pr", "\\") is None
    pid = admin.create_pipeline(_spec(admin))
    found = admin.pipeline("churn-pr", "\\")
    assert found is not None and found.id == pid and found.name == "churn-pr"
    assert (found.yaml_path, found.repository_id, found.default_branch) == (
        "azure-pipelines/pr.yml", admin.repository().id, "refs/heads/main")
    assert admin.pipeline("churn-pr", "\\other") is None
    admin.update_pipeline(pid, _spec(admin, yaml_path="azure-pipelines/pr2.yml"))
    assert admin.pipeline("churn-pr", "\\").yaml_path == "azure-pipelines/pr2.yml"
    with pytest.raises(ServiceError):
        admin.create_pipeline(_spec(admin))  # the same name in the same folder


def test_environments_and_their_approval_check(harness):
    admin = harness.admin
    harness.person("Alice Approver")
    harness.person("Bob Approver")
    alice, bob = admin.approver("Alice Approver"), admin.approver("Bob Approver")
    assert admin.environment("production") is None
    env = admin.create_environment("production", "churn: production")
    assert admin.environment("production") == env and admin.approval_checks(env) == []
    admin.create_approval(env, "production", [alice], "Approve the release.")
    [check] = admin.approval_checks(env)
    assert [(a.id, a.name) for a in check.approvers] == [(alice.id, "Alice Approver")]
    admin.update_approval(check.id, [bob], "Approve the release.")
    [again] = admin.approval_checks(env)
    assert again.id == check.id and [a.name for a in again.approvers] == ["Bob Approver"]
    with pytest.raises(ServiceError):
        admin.create_environment("production", "twice")


def test_variable_groups_keep_values_a_person_set(harness):
    admin = harness.admin
    assert admin.variable_group("mlops-secrets") is None
    admin.save_variable_group(VariableGroup("mlops-secrets", {"DATABRICKS_TOKEN": Variable("", True, None)}, "secrets"))
    group = admin.variable_group("mlops-secrets")
    assert group is not None and group.id is not None and group.key_vault is None
    assert set(group.variables) == {"DATABRICKS_TOKEN"} and group.variables["DATABRICKS_TOKEN"].secret
    harness.set_secret("mlops-secrets", "DATABRICKS_TOKEN", "set-by-a-person")
    group = admin.variable_group("mlops-secrets")
    assert group.variables["DATABRICKS_TOKEN"].value is None  # a secret is never read back
    group.variables["DATABRICKS_HOST"] = Variable("", True, None)
    admin.save_variable_group(group)
    assert set(admin.variable_group("mlops-secrets").variables) == {"DATABRICKS_TOKEN", "DATABRICKS_HOST"}
    assert harness.secret("mlops-secrets", "DATABRICKS_TOKEN") == "set-by-a-person"


def test_a_group_linked_to_a_key_vault_needs_a_service_connection(harness):
    admin = harness.admin
    assert admin.service_connection("arm-conn") is None
    harness.service_connection("arm-conn")
    endpoint = admin.service_connection("arm-conn")
    assert endpoint
    admin.save_variable_group(VariableGroup("kv", {"DATABRICKS-TOKEN": Variable()}, "secrets", KeyVault("kv-ml", endpoint)))
    group = admin.variable_group("kv")
    assert group.key_vault == KeyVault("kv-ml", endpoint) and set(group.variables) == {"DATABRICKS-TOKEN"}
    with pytest.raises(ServiceError):
        admin.save_variable_group(VariableGroup("kv2", {"X": Variable()}, "", KeyVault("kv-ml", "no-such-endpoint")))


def test_build_validation_policy(harness):
    admin = harness.admin
    pid = admin.create_pipeline(_spec(admin))
    assert admin.build_policies() == []
    admin.create_build_policy(pid, "churn PR", "refs/heads/main")
    [policy] = admin.build_policies()
    assert (policy.definition_id, policy.enabled, policy.blocking) == (pid, True, True)
    assert policy.scopes == ((admin.repository().id, "refs/heads/main"),)
    with pytest.raises(ServiceError):
        admin.create_build_policy(pid + 1000, "no such pipeline", "refs/heads/main")


def test_repository_rights_of_the_build_identity(harness):
    admin = harness.admin
    build = admin.build_identity()
    assert admin.repository_rights(build) == set()
    admin.grant_repository_rights(build, REPOSITORY_RIGHTS)
    assert admin.repository_rights(build) == set(REPOSITORY_RIGHTS)
    harness.revoke("manage permissions")
    with pytest.raises(ServiceError) as err:
        admin.grant_repository_rights(Identity(build.id, build.name, build.descriptor, False), ("Contribute",))
    assert err.value.code == "403"
