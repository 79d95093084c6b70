"""`mlops azure-devops setup` over the in-memory administration fake: the plan, its idempotence,
the dry run, what is left for a person, and the report of a failure part-way (the same use case
runs against the emulator in test_azure_devops_setup.py)."""

from __future__ import annotations

import pytest

from devops_mlops.context import Context
from devops_mlops.errors import InputError, ServiceError
from devops_mlops.ops.azure_devops_setup import run
from devops_mlops.ports.devops_admin import REPOSITORY_RIGHTS
from devops_mlops.testing.fakes.azure_devops import FakeDevOpsAdmin

pytestmark = pytest.mark.fast

PIPE = "variables:\n- group: mlops-secrets\nsteps:\n- script: x\n  env:\n    DATABRICKS_TOKEN: $(DATABRICKS_TOKEN)\n"


def _ctx(tmp_path, *, approvers="[]", extra="", dry_run=False):
    (tmp_path / "azure-pipelines").mkdir(exist_ok=True)
    for name in ("pr", "release", "monitoring"):
        (tmp_path / "azure-pipelines" / f"{name}.yml").write_text(PIPE)
    (tmp_path / "mlops.yaml").write_text(
        "project: churn\nmodel: {name: m}\nscm:\n  azure_devops:\n    organization_url: https://dev.azure.com/contoso\n"
        f"    project: ml\n    repository: models\n    approvers: {approvers}\n{extra}")
    return Context.create(config_path=tmp_path / "mlops.yaml", dry_run=dry_run)


@pytest.fixture
def admin():
    fake = FakeDevOpsAdmin()
    fake.add_identity("Alice Approver", account="alice@contoso.com")
    return fake


def test_everything_is_created_then_nothing_changes(tmp_path, admin):
    ctx = _ctx(tmp_path, approvers="[alice@contoso.com]")
    ctx.devops_admin = admin
    result = run(ctx)
    assert [(s.kind, s.action) for s in result.steps] == [
        ("pipeline", "create"), ("pipeline", "create"), ("pipeline", "create"), ("environment", "create"),
        ("environment", "create"), ("approval", "create"), ("variable-group", "create"), ("policy", "create"),
        ("permissions", "update")]
    assert (result.project, result.repository, result.default_branch) == ("ml", "models", "refs/heads/main")
    pr = admin.pipeline_named("churn-pr")
    assert pr.yaml_path == "azure-pipelines/pr.yml" and pr.default_branch == "refs/heads/main"
    assert admin.approvers_of("production") == ["Alice Approver"] and admin.approvers_of("staging") == []
    [policy] = admin.policies.values()
    assert policy.definition_id == pr.id and policy.scopes == (("repo-1", "refs/heads/main"),)
    assert set(admin.variable_group("mlops-secrets").variables) == {"DATABRICKS_TOKEN"}
    assert admin.repository_rights(admin.build_service) == set(REPOSITORY_RIGHTS)
    assert result.manual == ["fill in the values of DATABRICKS_TOKEN in Pipelines > Library > mlops-secrets"]

    writes = list(admin.writes)
    again = run(ctx)
    assert not again.changed and {s.action for s in again.steps} == {"unchanged"} and admin.writes == writes


def test_a_dry_run_writes_nothing(tmp_path, admin):
    ctx = _ctx(tmp_path, dry_run=True)
    ctx.devops_admin = admin
    result = run(ctx)
    assert result.dry_run and result.changed and admin.writes == []
    [approval] = [s for s in result.steps if s.kind == "approval"]
    assert approval.detail == "approvers: Fake User (the token's identity: scm.azure_devops.approvers is empty)"


def test_a_token_that_is_no_person_cannot_approve(tmp_path, admin):
    admin.user = admin.build_service
    ctx = _ctx(tmp_path)
    ctx.devops_admin = admin
    with pytest.raises(InputError, match="token is not a person's .ml Build Service .contoso.."):
        run(ctx)
    assert admin.writes == []


def test_what_the_token_may_not_do_is_left_for_a_person(tmp_path, admin):
    admin.revoke("manage permissions")
    admin.build_service = None
    ctx = _ctx(tmp_path)
    ctx.devops_admin = admin
    [step] = [s for s in run(ctx).steps if s.kind == "permissions"]
    assert step.action == "manual" and step.detail == "identity not found (has a pipeline run yet?)"
    admin.revoke("edit pipelines")
    with pytest.raises(ServiceError, match="Edit build pipeline"):
        run(ctx, admin)


def test_a_failure_part_way_says_what_was_done(tmp_path, admin):
    admin.fail_on("save variable group")
    ctx = _ctx(tmp_path)
    ctx.devops_admin = admin
    with pytest.raises(ServiceError) as err:
        run(ctx)
    message = err.value.one_line()
    assert message.startswith("create variable-group mlops-secrets failed: cannot save variable group")
    assert "(done before it: created pipeline churn-pr; created pipeline churn-release" in message
    assert "created approval production)" in message


def test_a_key_vault_group_maps_names_and_keeps_the_link(tmp_path, admin):
    endpoint = admin.add_service_connection("arm-conn")
    ctx = _ctx(tmp_path, extra="    key_vault: kv-ml\n    service_connection: arm-conn\n")
    ctx.devops_admin = admin
    result = run(ctx)
    group = admin.variable_group("mlops-secrets")
    assert group.key_vault.vault == "kv-ml" and group.key_vault.service_connection_id == endpoint
    assert set(group.variables) == {"DATABRICKS-TOKEN"}
    assert any("cannot contain '_'" in m for m in result.manual)
    assert {s.action for s in run(ctx).steps if s.kind == "variable-group"} == {"unchanged"}
