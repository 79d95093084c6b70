"""Azure Repos pull requests through the real azure-devops SDK against the loopback emulator."""

from __future__ import annotations

import pytest

from devops_mlops.adapters.azure.connection import AzureDevOps, resolve
from devops_mlops.adapters.azure.git_host import MAX_DESCRIPTION, AzureGitHost, from_context
from devops_mlops.errors import ServiceError, UsageError
from devops_mlops.testing.azure_devops import AzureDevOpsEmulator
from devops_mlops.testing.http import Faults

TOKEN = "pat-abcdef123456"
SRC = "automation/retrain-churn-v7"


@pytest.fixture
def emu(monkeypatch):
    monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", TOKEN)
    with AzureDevOpsEmulator(token=TOKEN) as emu:
        emu.add_project("ml")
        emu.add_repository("ml", "models")
        emu.set_ref("models", SRC, "c" * 40)
        yield emu


def host_for(emu, **kw) -> AzureGitHost:
    return AzureGitHost(AzureDevOps(resolve(organization_url=emu.org_url, project="ml", repository="models"), **kw))


def test_create_sends_refs_title_description_and_basic_auth(emu):
    pr = host_for(emu).open_or_update_pull_request(source_branch=SRC, target_branch="main", title="Retrain churn v7",
                                                   description="x" * (MAX_DESCRIPTION + 500))
    stored = emu.pull_request(pr.pull_request_id)
    assert stored["sourceRefName"] == f"refs/heads/{SRC}" and stored["title"] == "Retrain churn v7"
    assert len(stored["description"]) <= MAX_DESCRIPTION and stored["description"].endswith("(truncated)")
    posts = emu.requests_by_path(r"/pullRequests$", "POST")
    assert len(posts) == 1 and posts[0].headers["authorization"].startswith("Basic ")
    assert pr.url == f"{emu.org_url}/ml/_git/models/pullrequest/{pr.pull_request_id}"


def test_a_lost_creation_answer_is_found_instead_of_created_twice(emu):
    emu.faults = Faults(script=["lost"], methods=("POST",), path_pattern=r"/pullRequests$")
    pr = host_for(emu, retries=0).open_or_update_pull_request(source_branch=SRC, target_branch="main", title="t",
                                                              description="d")
    assert pr.created and len(emu.pull_requests) == 1 and emu.faults_injected


def test_a_completed_pull_request_is_not_reused(emu):
    gh = host_for(emu)
    first = gh.open_or_update_pull_request(source_branch=SRC, target_branch="main", title="t", description="d")
    emu.pull_request(first.pull_request_id)["status"] = "completed"
    second = gh.open_or_update_pull_request(source_branch=SRC, target_branch="main", title="t", description="d")
    assert second.created and second.pull_request_id != first.pull_request_id


def test_refusals_become_service_errors_with_hints(emu):
    emu.deny(r"/pullRequests$", method="POST")
    with pytest.raises(ServiceError) as info:
        host_for(emu).open_or_update_pull_request(source_branch=SRC, target_branch="main", title="t", description="d")
    assert info.value.exit_code == 2 and "pull request" in info.value.message


def test_a_wrong_token_is_a_service_error(emu, monkeypatch):
    monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", "wrong-token")
    with pytest.raises(ServiceError, match="401"):
        host_for(emu, retries=0).open_or_update_pull_request(source_branch=SRC, target_branch="main", title="t",
                                                             description="d")


def test_from_context_needs_an_organization(tmp_path, monkeypatch):
    from devops_mlops.config import load_config
    from devops_mlops.context import Context

    (tmp_path / "mlops.yaml").write_text("project: p\nmodel: {name: m}\n")
    cfg = load_config(tmp_path / "mlops.yaml")
    with pytest.raises(UsageError, match="organization"):
        from_context(Context(cfg, cfg.target()))
