"""`mlops azure-devops setup` use case: the real SDK (the administration adapter) against the emulator."""

from __future__ import annotations

import pytest

from devops_mlops.adapters.azure.admin import BUILD_POLICY, GIT_NAMESPACE
from devops_mlops.adapters.azure.admin_library import APPROVAL_CHECK
from devops_mlops.context import Context
from devops_mlops.errors import InputError, MlopsError, ServiceError
from devops_mlops.ops.azure_devops_setup import run, secret_names
from devops_mlops.testing.azure_devops import AzureDevOpsEmulator

PAT = "setup-pat-55555"
PIPE = """trigger: none
variables:
- group: mlops-secrets
steps:
- script: mlops deploy
  env:
    DATABRICKS_HOST: $(DATABRICKS_HOST)
    DATABRICKS_TOKEN: $(DATABRICKS_TOKEN)
    SYSTEM_ACCESSTOKEN: $(System.AccessToken)
"""


@pytest.fixture
def emu():
    with AzureDevOpsEmulator(token=PAT) as emu:
        emu.add_project("ml")
        emu.add_repository("ml", "models", default_branch="main")
        emu.add_identity("Alice Approver", account="alice@contoso.com")
        yield emu


def _project(tmp_path, emu, monkeypatch, extra="", dry_run=False, approvers="[alice@contoso.com]"):
    (tmp_path / "azure-pipelines").mkdir(exist_ok=True)
    for name in ("pr", "release", "monitoring"):
        (tmp_path / "azure-pipelines" / f"{name}.yml").write_text(PIPE)
    (tmp_path / "mlops.yaml").write_text(
        f"project: churn\nmodel: {{name: m}}\nscm:\n  azure_devops:\n    organization_url: {emu.org_url}\n"
        f"    project: ml\n    repository: models\n    approvers: {approvers}\n{extra}")
    monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", PAT)
    return Context.create(config_path=tmp_path / "mlops.yaml", dry_run=dry_run)


def test_secret_names_come_from_env_mappings(tmp_path):
    (tmp_path / "azure-pipelines" / "templates").mkdir(parents=True)
    (tmp_path / "azure-pipelines" / "templates" / "t.yml").write_text(PIPE + "    ARM_CLIENT_SECRET: $(ARM_CLIENT_SECRET)\n")
    assert secret_names(tmp_path) == ["DATABRICKS_HOST", "DATABRICKS_TOKEN", "ARM_CLIENT_SECRET"]


def test_setup_creates_everything_then_is_idempotent(tmp_path, emu, monkeypatch):
    result = run(_project(tmp_path, emu, monkeypatch))
    assert result.changed and [s.action for s in result.steps].count("create") == 8
    repo = emu.repository("ml", "models")
    defs = {d["name"]: d for d in emu.definitions.values()}
    assert set(defs) == {"churn-pr", "churn-release", "churn-monitoring"}
    assert defs["churn-pr"]["process"] == {"type": 2, "yamlFilename": "azure-pipelines/pr.yml"}
    assert defs["churn-pr"]["repository"]["id"] == repo["id"] and defs["churn-pr"]["repository"]["defaultBranch"] == "refs/heads/main"
    assert sorted(e["name"] for e in emu.environments.values()) == ["production", "staging"]
    [check] = emu.checks.values()
    prod = next(e for e in emu.environments.values() if e["name"] == "production")
    assert check["type"]["id"] == APPROVAL_CHECK and check["resource"] == {"type": "environment", "id": str(prod["id"]), "name": "production"}
    assert check["settings"]["approvers"][0]["displayName"] == "Alice Approver"
    [group] = emu.variable_groups.values()
    assert group["name"] == "mlops-secrets" and set(group["variables"]) == {"DATABRICKS_HOST", "DATABRICKS_TOKEN"}
    assert all(v["isSecret"] and not v.get("value") for v in group["variables"].values())
    [policy] = emu.policies.values()
    assert policy["type"]["id"] == BUILD_POLICY and policy["isBlocking"]
    assert policy["settings"]["buildDefinitionId"] == defs["churn-pr"]["id"]
    assert policy["settings"]["scope"] == [{"repositoryId": repo["id"], "refName": "refs/heads/main", "matchKind": "Exact"}]
    ident = emu.build_service_identity("ml")
    acl = emu.acls[(GIT_NAMESPACE, f"repoV2/{repo['project']['id']}/{repo['id']}")]
    assert acl[ident["descriptor"]]["allow"] == 4 | 16 | 16384
    assert any("fill in the values" in m for m in result.manual)

    writes = len(emu.writes())
    again = run(_project(tmp_path, emu, monkeypatch))
    assert not again.changed and all(s.action == "unchanged" for s in again.steps), again.steps
    assert len(emu.writes()) == writes


def test_dry_run_prints_the_plan_and_changes_nothing(tmp_path, emu, monkeypatch):
    result = run(_project(tmp_path, emu, monkeypatch, dry_run=True))
    assert result.dry_run and {s.action for s in result.steps} == {"create", "update"}
    assert emu.writes() == []


def test_drift_is_updated_and_values_are_kept(tmp_path, emu, monkeypatch):
    run(_project(tmp_path, emu, monkeypatch))
    [group] = emu.variable_groups.values()
    group["variables"]["DATABRICKS_TOKEN"]["value"] = "set-by-a-person"
    d = next(d for d in emu.definitions.values() if d["name"] == "churn-release")
    d["process"]["yamlFilename"] = "old.yml"
    ctx = _project(tmp_path, emu, monkeypatch)
    (tmp_path / "azure-pipelines" / "pr.yml").write_text(PIPE + "    ARM_TENANT_ID: $(ARM_TENANT_ID)\n")
    result = run(ctx)
    assert {(s.kind, s.action) for s in result.steps if s.action != "unchanged"} == {("pipeline", "update"), ("variable-group", "update")}
    assert d["id"] in emu.definitions and emu.definitions[d["id"]]["process"]["yamlFilename"] == "azure-pipelines/release.yml"
    assert group["variables"]["DATABRICKS_TOKEN"]["value"] == "set-by-a-person" and "ARM_TENANT_ID" in group["variables"]


def test_without_manage_permissions_it_lists_what_to_grant(tmp_path, emu, monkeypatch):
    emu.revoke("ManagePermissions")
    result = run(_project(tmp_path, emu, monkeypatch))
    step = next(s for s in result.steps if s.kind == "permissions")
    assert step.action == "manual"
    assert any("'ml Build Service (contoso)'" in m and "Contribute to pull requests" in m and "Repositories > models > Security" in m
               for m in result.manual)
    assert emu.definitions  # the rest was done


@pytest.mark.parametrize("case", ["no-project", "not-azure-repos", "no-rights", "bad-approver", "missing-file"])
def test_bad_input_exits_2_and_creates_nothing(tmp_path, emu, monkeypatch, case):

    if case == "no-rights":
        emu.revoke("EditBuildDefinition")
    ctx = _project(tmp_path, emu, monkeypatch)
    if case == "no-project":
        ctx.config.scm.azure_devops.project = "nope"
    elif case == "not-azure-repos":
        ctx.config.scm.azure_devops.repository = "on-github"
    elif case == "bad-approver":
        ctx.config.scm.azure_devops.approvers = ["nobody@nowhere"]
    elif case == "missing-file":
        (tmp_path / "azure-pipelines" / "monitoring.yml").unlink()
    with pytest.raises(MlopsError) as err:
        run(ctx)
    assert err.value.exit_code == 2
    assert {"no-project": "TF200016", "not-azure-repos": "Azure Repos", "no-rights": "Edit build pipeline",
            "bad-approver": "nobody@nowhere", "missing-file": "monitoring.yml"}[case] in err.value.one_line()
    assert emu.writes() == []


def test_a_later_failure_reports_what_was_done(tmp_path, emu, monkeypatch):
    emu.deny(r"/_apis/distributedtask/variablegroups", method="POST")
    with pytest.raises(ServiceError) as err:
        run(_project(tmp_path, emu, monkeypatch))
    msg = err.value.one_line()
    assert "create variable-group mlops-secrets failed" in msg and "created pipeline churn-pr" in msg
    assert "created environment production" in msg


def test_key_vault_group_is_linked_through_the_service_connection(tmp_path, emu, monkeypatch):
    ep = emu.add_service_endpoint("ml", "arm-conn")
    result = run(_project(tmp_path, emu, monkeypatch, extra="    key_vault: kv-ml\n    service_connection: arm-conn\n"))
    [group] = emu.variable_groups.values()
    assert group["type"] == "AzureKeyVault" and group["providerData"] == {"serviceEndpointId": ep["id"], "vault": "kv-ml"}
    assert set(group["variables"]) == {"DATABRICKS-HOST", "DATABRICKS-TOKEN"}
    assert any("cannot contain '_'" in m for m in result.manual)
    with pytest.raises(InputError, match="service connection 'other'"):
        run(_project(tmp_path, emu, monkeypatch, extra="    key_vault: kv-ml\n    service_connection: other\n"))


def test_the_groups_of_the_shipped_pipelines_are_the_ones_set_up():
    from pathlib import Path

    from devops_mlops.ops.azure_devops_setup import referenced_groups

    repo = Path(__file__).resolve().parents[2] / "examples" / "toll-demand"
    assert set(referenced_groups(repo)) == {"mlops-staging", "mlops-production"}


def _production_checks(emu):
    prod = next(e for e in emu.environments.values() if e["name"] == "production")
    return [c for c in emu.checks.values() if c["resource"]["id"] == str(prod["id"])]


def test_without_approvers_the_token_identity_approves_production(tmp_path, emu, monkeypatch):
    plan = run(_project(tmp_path, emu, monkeypatch, dry_run=True, approvers="[]"))
    [step] = [s for s in plan.steps if s.kind == "approval"]
    assert step.action == "create" and "Emulator User" in step.detail
    assert "the token's identity: scm.azure_devops.approvers is empty" in step.detail
    assert emu.writes() == [] and emu.requests_by_path(r"/_apis/ConnectionData", "GET")

    done = run(_project(tmp_path, emu, monkeypatch, approvers="[]"))
    assert [s.action for s in done.steps if s.kind == "approval"] == ["create"]
    [check] = _production_checks(emu)
    assert check["type"]["id"] == APPROVAL_CHECK
    assert [a["id"] for a in check["settings"]["approvers"]] == [emu.user["id"]]
    assert not any("approval" in m for m in done.manual)
    again = run(_project(tmp_path, emu, monkeypatch, approvers="[]"))
    assert [s.action for s in again.steps if s.kind == "approval"] == ["unchanged"]


def test_without_approvers_an_approval_check_made_by_hand_is_kept(tmp_path, emu, monkeypatch):
    run(_project(tmp_path, emu, monkeypatch))  # alice approves
    again = run(_project(tmp_path, emu, monkeypatch, approvers="[]"))
    [step] = [s for s in again.steps if s.kind == "approval"]
    assert step.action == "unchanged" and "Alice Approver" in step.detail
    [check] = _production_checks(emu)
    assert [a["displayName"] for a in check["settings"]["approvers"]] == ["Alice Approver"]


@pytest.mark.parametrize("who", ["build-service", "nobody"])
def test_without_approvers_a_token_that_is_no_person_is_refused(tmp_path, emu, monkeypatch, who):
    emu.token_user = emu.build_service_identity("ml") if who == "build-service" else None
    for dry_run in (True, False):
        with pytest.raises(InputError) as err:
            run(_project(tmp_path, emu, monkeypatch, dry_run=dry_run, approvers="[]"))
        assert err.value.exit_code == 2
        line = err.value.one_line()
        assert "scm.azure_devops.approvers" in line and "mlops.yaml:8" in line, line
        assert ("ml Build Service (contoso)" in line) == (who == "build-service")
    assert emu.writes() == [] and emu.checks == {}
