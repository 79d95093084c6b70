"""Connection resolution and SDK error translation (real SDK against the emulator)."""

from __future__ import annotations

import pytest

from devops_mlops.adapters.azure.connection import AzureDevOps, resolve
from devops_mlops.adapters.azure.errors import translated
from devops_mlops.config import AzureDevOpsCfg
from devops_mlops.console import mask
from devops_mlops.errors import ConflictError, ServiceError, UsageError
from devops_mlops.ports.devops_admin import organization_name
from devops_mlops.testing.azure_devops import AzureDevOpsEmulator

PAT = "conn-pat-987654"


def test_resolution_order_config_then_pipeline_variables():
    env = {"SYSTEM_COLLECTIONURI": "https://dev.azure.com/fabrikam/", "SYSTEM_TEAMPROJECT": "p",
           "BUILD_REPOSITORY_NAME": "r", "SYSTEM_ACCESSTOKEN": "sys-token-1", "AZURE_DEVOPS_EXT_PAT": "pat-2222"}
    t = resolve(AzureDevOpsCfg(), env=env)
    assert (t.organization_url, t.organization, t.project, t.repository) == ("https://dev.azure.com/fabrikam", "fabrikam", "p", "r")
    assert (t.scheme, t.token_source) == ("bearer", "SYSTEM_ACCESSTOKEN")
    assert "sys-token-1" not in repr(t) and mask("x sys-token-1 y") == "x *** y"
    assert t.build_service_identity == "p Build Service (fabrikam)"
    t = resolve(AzureDevOpsCfg(organization_url="https://contoso.visualstudio.com/", project="q", repository="s"),
                env={"AZURE_DEVOPS_EXT_PAT": "pat-2222"})
    assert (t.organization, t.project, t.repository, t.scheme) == ("contoso", "q", "s", "basic")
    assert organization_name("http://127.0.0.1:8080/contoso") == "contoso"


def test_missing_organization_or_token_is_a_usage_error():
    with pytest.raises(UsageError, match="SYSTEM_COLLECTIONURI"):
        resolve(AzureDevOpsCfg(), env={"AZURE_DEVOPS_EXT_PAT": "x1234"})
    with pytest.raises(UsageError, match="AZURE_DEVOPS_EXT_PAT"):
        resolve(AzureDevOpsCfg(organization_url="https://dev.azure.com/o"), env={})
    t = resolve(AzureDevOpsCfg(organization_url="https://dev.azure.com/o"), env={"AZURE_DEVOPS_EXT_PAT": "x1234"})
    with pytest.raises(UsageError, match="scm.azure_devops.project"):
        t.require()


@pytest.fixture
def ado():
    with AzureDevOpsEmulator(token=PAT) as emu:
        emu.add_project("ml")
        emu.add_repository("ml", "models")
        target = resolve(organization_url=emu.org_url, project="ml", repository="models", env={"AZURE_DEVOPS_EXT_PAT": PAT})
        yield emu, AzureDevOps(target, backoff=0.01)


def test_project_and_repository_lookups_translate(ado):
    _, a = ado
    assert a.project().name == "ml" and a.repository().name == "models"
    a.target.project = "nope"
    with pytest.raises(ServiceError) as err:
        a.project()
    assert err.value.code == "TF200016" and "'nope' does not exist" in err.value.message
    a.target.project, a.target.repository = "ml", "github-repo"
    with pytest.raises(ServiceError) as err:
        a.repository()
    assert err.value.code == "TF401019" and "not in project 'ml' on Azure Repos" in err.value.message


def test_permission_and_policy_errors_have_actionable_hints(ado):
    from azure.devops.v7_1.git.models import GitPush, GitRefUpdate

    emu, a = ado
    head = emu.refs[emu.repository("ml", "models")["id"]]["refs/heads/main"]
    emu.deny_contribute("models")
    push = GitPush(ref_updates=[GitRefUpdate(name="refs/heads/main", old_object_id=head)], commits=[{"comment": "c", "changes": []}])
    with pytest.raises(ServiceError) as err, translated("push to main", a.target):
        a.git().create_push(push, "models", project="ml")
    assert err.value.code == "TF401027"
    assert "'ml Build Service (contoso)'" in err.value.hint and "'Contribute'" in err.value.hint
    emu.no_contribute.clear()
    emu.protect_branch("models", "main")
    with pytest.raises(ServiceError) as err, translated("push to main", a.target):
        a.git().create_push(push, "models", project="ml")
    assert err.value.code == "TF402455" and "pull request" in err.value.one_line()


def test_conflict_unauthorized_and_unreachable(ado):
    from azure.devops.v7_1.git.models import GitPullRequest, GitRefUpdate

    emu, a = ado
    head = emu.refs[emu.repository("ml", "models")["id"]]["refs/heads/main"]
    a.git().update_refs([GitRefUpdate(name="refs/heads/b", old_object_id="0" * 40, new_object_id=head)], "models", project="ml")
    pr = GitPullRequest(source_ref_name="refs/heads/b", target_ref_name="refs/heads/main", title="t")
    a.git().create_pull_request(pr, "models", project="ml")
    with pytest.raises(ConflictError), translated("open a pull request", a.target):
        a.git().create_pull_request(pr, "models", project="ml")
    bad = AzureDevOps(resolve(organization_url=emu.org_url, project="ml", env={"AZURE_DEVOPS_EXT_PAT": "bad-token"}))
    with pytest.raises(ServiceError) as err:
        bad.project()
    assert err.value.code == "401" and "AZURE_DEVOPS_EXT_PAT" in err.value.hint and "bad-token" not in mask(err.value.one_line())
    down = AzureDevOps(resolve(organization_url="http://127.0.0.1:9/contoso", project="ml", env={"AZURE_DEVOPS_EXT_PAT": PAT}),
                       retries=0, backoff=0)
    with pytest.raises(ServiceError) as err:
        down.project()
    assert err.value.code == "unreachable"
