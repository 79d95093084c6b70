"""The Azure DevOps emulator answers the real azure-devops SDK faithfully."""

from __future__ import annotations

import pytest

from devops_mlops.adapters.azure.connection import connect, resolve
from devops_mlops.testing.azure_devops import AzureDevOpsEmulator
from devops_mlops.testing.http import Faults

PAT = "emu-pat-123456"


@pytest.fixture
def emu():
    with AzureDevOpsEmulator(token=PAT) as emu:
        emu.add_project("ml")
        emu.add_repository("ml", "models", default_branch="main")
        yield emu


def _conn(emu, token=PAT, var="AZURE_DEVOPS_EXT_PAT", **kw):
    target = resolve(organization_url=emu.org_url, project="ml", repository="models", env={var: token})
    return connect(target, backoff=0.01, **kw)


def test_location_discovery_and_connection_data(emu):
    conn = _conn(emu)
    core = conn.clients_v7_1.get_core_client()
    assert core.get_project("ml").name == "ml"
    assert emu.requests_by_path(r"/contoso/_apis$", "OPTIONS")
    options = emu._options(type("R", (), {"params": {"org": "contoso"}})())
    ids = {loc["id"] for loc in options["value"]}
    assert "9946fd70-0d40-406e-b686-b4744cbbcc37" in ids  # pull requests
    assert all({"routeTemplate", "resourceName", "maxVersion", "releasedVersion"} <= set(l) for l in options["value"])
    data = conn.clients_v7_1.get_location_client().get_connection_data()
    assert data.authenticated_user.provider_display_name == "Emulator User"


def test_bearer_token_and_wrong_token(emu):
    from azure.devops.exceptions import AzureDevOpsAuthenticationError

    assert _conn(emu, var="SYSTEM_ACCESSTOKEN").clients_v7_1.get_core_client().get_projects()[0].name == "ml"
    assert any(r.headers.get("authorization") == f"Bearer {PAT}" for r in emu.requests)
    with pytest.raises(AzureDevOpsAuthenticationError):
        _conn(emu, token="wrong-token").clients_v7_1.get_core_client().get_project("ml")


def test_git_refs_push_and_pull_requests(emu):
    from azure.devops.v7_1.git.models import (
        GitCommitRef,
        GitPullRequest,
        GitPullRequestSearchCriteria,
        GitPush,
        GitRefUpdate,
        ResourceRef,
    )

    git = _conn(emu).clients_v7_1.get_git_client()
    repo = git.get_repository("models", project="ml")
    assert repo.default_branch == "refs/heads/main"
    head = git.get_refs(repo.id, project="ml", filter="heads/main")[0].object_id
    push = git.create_push(
        GitPush(ref_updates=[GitRefUpdate(name="refs/heads/automation/retrain-m-v2", old_object_id="0" * 40)],
                commits=[GitCommitRef(comment="retrain [skip ci]", changes=[
                    {"changeType": "add", "item": {"path": "/notebooks/retrain.py"},
                     "newContent": {"content": "print(1)", "contentType": "rawtext"}}])]),
        repo.id, project="ml")
    assert push.ref_updates[0].new_object_id != head
    pr = git.create_pull_request(
        GitPullRequest(source_ref_name="refs/heads/automation/retrain-m-v2", target_ref_name="refs/heads/main",
                       title="Retrain m v2", description="| metric |", work_item_refs=[ResourceRef(id="7")]),
        repo.id, project="ml")
    assert pr.pull_request_id == 1 and pr.status == "active"
    found = git.get_pull_requests(repo.id, GitPullRequestSearchCriteria(
        status="active", source_ref_name="refs/heads/automation/retrain-m-v2", target_ref_name="refs/heads/main"), project="ml")
    assert [p.pull_request_id for p in found] == [1]
    updated = git.update_pull_request(GitPullRequest(description="new table"), repo.id, 1, project="ml")
    assert updated.description == "new table" and emu.pull_requests[0]["description"] == "new table"
    assert [w.id for w in git.get_pull_request_work_item_refs(repo.id, 1, project="ml")] == ["7"]
    assert git.get_pull_request_by_id(1, project="ml").title == "Retrain m v2"
    assert len(emu.pushes) == 1 and emu.requests_by_path(r"/pullRequests$", "POST")


def test_git_failure_modes(emu):
    from azure.devops.exceptions import AzureDevOpsServiceError
    from azure.devops.v7_1.git.models import GitPullRequest, GitPush, GitRefUpdate

    git = _conn(emu).clients_v7_1.get_git_client()
    head = emu.refs[emu.repository("ml", "models")["id"]]["refs/heads/main"]
    emu.protect_branch("models", "main")
    with pytest.raises(AzureDevOpsServiceError, match="TF402455"):
        git.create_push(GitPush(ref_updates=[GitRefUpdate(name="refs/heads/main", old_object_id=head)], commits=[
            {"comment": "x", "changes": []}]), "models", project="ml")
    emu.deny_contribute("models")
    with pytest.raises(AzureDevOpsServiceError, match="TF401027"):
        git.update_refs([GitRefUpdate(name="refs/heads/b", old_object_id="0" * 40, new_object_id=head)], "models", project="ml")
    emu.no_contribute.clear()
    git.update_refs([GitRefUpdate(name="refs/heads/b", old_object_id="0" * 40, new_object_id=head)], "models", project="ml")
    pr = GitPullRequest(source_ref_name="refs/heads/b", target_ref_name="refs/heads/main", title="t")
    git.create_pull_request(pr, "models", project="ml")
    with pytest.raises(AzureDevOpsServiceError, match="TF401179"):
        git.create_pull_request(pr, "models", project="ml")
    with pytest.raises(AzureDevOpsServiceError, match="TF401019"):
        git.get_repository("nope", project="ml")


def test_faults_are_retried_for_reads(emu):
    core = _conn(emu).clients_v7_1.get_core_client()
    core.get_project("ml")  # discovery done
    emu.faults = Faults(script=["503", "throttle"], path_pattern=r"/_apis/projects")
    emu.faults.retry_after = 0
    assert core.get_project("ml").name == "ml"
    assert [f[2] for f in emu.faults_injected] == ["503", "throttle"]


def test_work_items_wiql_and_comments(emu):
    from azure.devops.v7_1.work_item_tracking.models import JsonPatchOperation, TeamContext, Wiql

    wit = _conn(emu).clients_v7_1.get_work_item_tracking_client()
    ops = [JsonPatchOperation(op="add", path="/fields/System.Title", value="Model m needs retraining"),
           JsonPatchOperation(op="add", path="/fields/System.Tags", value="mlops-model:m; mlops")]
    wi = wit.create_work_item(ops, "ml", "Bug")
    assert wi.fields["System.WorkItemType"] == "Bug" and wi.fields["System.State"] == "New"
    q = ("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.Tags] CONTAINS "
         "'mlops-model:m' AND [System.State] NOT IN ('Closed', 'Done', 'Removed', 'Resolved')")
    assert [w.id for w in wit.query_by_wiql(Wiql(query=q), team_context=TeamContext(project="ml")).work_items] == [wi.id]
    wit.update_work_item([JsonPatchOperation(op="add", path="/fields/System.State", value="Closed")], wi.id, project="ml")
    assert wit.query_by_wiql(Wiql(query=q), team_context=TeamContext(project="ml")).work_items == []
    wit.add_comment({"text": "again"}, "ml", wi.id)
    assert emu.comments[wi.id][0]["text"] == "again"
    from azure.devops.exceptions import AzureDevOpsServiceError

    with pytest.raises(AzureDevOpsServiceError, match="VS402323"):
        wit.create_work_item(ops, "ml", "Nonsense")
    with pytest.raises(AzureDevOpsServiceError, match="TF401347"):
        wit.create_work_item(ops + [JsonPatchOperation(op="add", path="/fields/System.AreaPath", value="other\\x")], "ml", "Bug")
    with pytest.raises(AzureDevOpsServiceError, match="TF51006"):
        wit.query_by_wiql(Wiql(query="SELECT [System.Id] FROM WorkItems WHERE EVER ([x] = 1)"), team_context=TeamContext(project="ml"))


def test_deny_answers_403(emu):
    from azure.devops.exceptions import AzureDevOpsServiceError

    emu.deny(r"/_apis/git/repositories", method="GET")
    with pytest.raises(AzureDevOpsServiceError, match="TF400813"):
        _conn(emu).clients_v7_1.get_git_client().get_repositories("ml")
