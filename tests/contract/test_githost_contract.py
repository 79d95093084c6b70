"""The GitHost port's contract, run over every implementation: Azure Repos (the real azure-devops
SDK against the loopback emulator) and the in-memory fake (testing/fakes/githost.py). Another host
joins with a fixture ``<name>_host`` that yields (host, make_branch, stored, new_work_item): ``stored(pr)``
is the title, description and linked work items the host keeps."""

from __future__ import annotations

import pytest

from devops_mlops.adapters.azure.connection import AzureDevOps, resolve
from devops_mlops.adapters.azure.git_host import AzureGitHost
from devops_mlops.errors import ServiceError
from devops_mlops.ports.git import PullRequest
from devops_mlops.testing.azure_devops import AzureDevOpsEmulator
from devops_mlops.testing.fakes.githost import FakeGitHost

TOKEN = "contract-pat-1234"


@pytest.fixture
def azure_host(monkeypatch):
    monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", TOKEN)
    with AzureDevOpsEmulator(token=TOKEN) as emu:
        emu.add_project("ml")
        emu.add_repository("ml", "models")
        host = AzureGitHost(AzureDevOps(resolve(organization_url=emu.org_url, project="ml", repository="models")))

        def make_branch(name: str) -> None:  # what a git push of the branch does on the service
            emu.set_ref("models", name, "b" * 40)

        def stored(pr: PullRequest) -> dict:
            found = emu.pull_request(pr.pull_request_id)
            return {"title": found["title"], "description": found["description"],
                    "work_items": {w["id"] for w in found["_workItems"]}}

        def new_work_item() -> int:
            from azure.devops.v7_1.work_item_tracking.models import JsonPatchOperation

            op = JsonPatchOperation(op="add", path="/fields/System.Title", value="alert")
            return host.ado.wit().create_work_item([op], project="ml", type="Bug").id

        yield host, make_branch, stored, new_work_item


@pytest.fixture
def fake_host():
    host = FakeGitHost()

    def stored(pr: PullRequest) -> dict:
        found = host.pull_request(pr.pull_request_id)
        return {"title": found["title"], "description": found["description"],
                "work_items": {str(w) for w in found["work_items"]}}

    return host, host.make_branch, stored, host.new_work_item


@pytest.fixture(params=["azure", pytest.param("fake", marks=pytest.mark.fast)])
def host(request):
    return request.getfixturevalue(f"{request.param}_host")


def test_opens_then_updates_the_same_pull_request(host):
    gh, make_branch, _, _ = host
    make_branch("automation/retrain-m-v1")
    first = gh.open_or_update_pull_request(source_branch="automation/retrain-m-v1", target_branch="main",
                                           title="Retrain m v1", description="| metric | value |")
    assert isinstance(first, PullRequest) and first.created and first.status == "active"
    assert first.source_branch == "refs/heads/automation/retrain-m-v1" and first.target_branch == "refs/heads/main"
    assert str(first.pull_request_id) in first.url
    second = gh.open_or_update_pull_request(source_branch="automation/retrain-m-v1", target_branch="main",
                                            title="Retrain m v1 (again)", description="new")
    assert not second.created and second.pull_request_id == first.pull_request_id


def test_another_source_branch_is_another_pull_request(host):
    gh, make_branch, _, _ = host
    make_branch("automation/retrain-m-v1")
    make_branch("automation/retrain-m-v2")
    a = gh.open_or_update_pull_request(source_branch="automation/retrain-m-v1", target_branch="main", title="a", description="")
    b = gh.open_or_update_pull_request(source_branch="automation/retrain-m-v2", target_branch="main", title="b", description="")
    assert a.pull_request_id != b.pull_request_id and b.created


def test_links_work_items_on_open_and_on_update(host):
    gh, make_branch, stored, new_work_item = host
    make_branch("automation/retrain-m-v3")
    w1, w2 = new_work_item(), new_work_item()
    pr = gh.open_or_update_pull_request(source_branch="automation/retrain-m-v3", target_branch="main",
                                        title="t", description="d", work_item_ids=[w1])
    assert stored(pr)["work_items"] == {str(w1)}
    pr = gh.open_or_update_pull_request(source_branch="automation/retrain-m-v3", target_branch="main",
                                        title="t", description="d", work_item_ids=[w1, w2])
    assert stored(pr)["work_items"] == {str(w1), str(w2)}


def test_a_missing_source_branch_is_refused(host):
    gh, _, _, _ = host
    with pytest.raises(ServiceError):
        gh.open_or_update_pull_request(source_branch="automation/never-pushed", target_branch="main", title="t",
                                       description="")


def test_a_long_description_is_clipped_to_what_azure_devops_takes(host):
    gh, make_branch, stored, _ = host
    make_branch("automation/retrain-m-v4")
    pr = gh.open_or_update_pull_request(source_branch="automation/retrain-m-v4", target_branch="main", title="t",
                                        description="x" * 10_000)
    kept = stored(pr)
    assert kept["title"] == "t" and len(kept["description"]) <= 4000 and kept["description"].endswith("(truncated)")
