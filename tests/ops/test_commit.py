"""commit_notebooks end to end: real git (bare remote, agent-style shallow detached checkout,
loopback smart-HTTP server requiring the token) and the real azure-devops SDK against the
Azure DevOps emulator for pull requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devops_mlops.config import load_config
from devops_mlops.context import Context
from devops_mlops.errors import CheckFailed, ServiceError, UsageError
from devops_mlops.ops.commit import commit_notebooks
from devops_mlops.ops.commit_text import automation_branch, metrics_table
from devops_mlops.testing.azure_devops import AzureDevOpsEmulator
from devops_mlops.testing.git_http_server import (
    GitHttpServer,
    agent_checkout,
    git,
    init_bare,
    mirror_refs,
    pre_receive_hook,
    seed,
)

TOKEN = "sat-0a1b2c3d4e5f"
NB = "# Databricks notebook source\nprint({})\n"
CONFIG = "project: churn\nmodel: {name: churn}\n"
IPYNB = {
    "cells": [{"cell_type": "code", "execution_count": 3, "metadata": {}, "outputs": [
        {"name": "stdout", "output_type": "stream", "text": ["42\n"]}], "source": ["print(42)"]}],
    "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5,
}
FILES = {"mlops.yaml": CONFIG, "notebooks/retrain.py": NB.format(1), "notebooks/explore.ipynb": json.dumps(IPYNB, indent=1) + "\n",
         "README.md": "readme\n"}
PROVENANCE = {"model": "churn", "version": 7, "metrics": {"rmse": {"candidate": 0.41, "production": 0.52}},
              "data_window": {"start": "2024-05-01", "end": "2024-05-31"}, "work_item": None}


def make_ctx(repo: Path, *, dry_run: bool = False, **scm) -> Context:
    cfg = load_config(repo / "mlops.yaml")
    for key, value in scm.items():
        if key in ("organization_url", "project", "repository"):
            setattr(cfg.scm.azure_devops, key, value)
        else:
            setattr(cfg.scm, key, value)
    return Context(cfg, cfg.target(), dry_run=dry_run)


@pytest.fixture
def remote(tmp_path) -> Path:
    bare = init_bare(tmp_path / "remotes" / "repo.git")
    seed(bare, FILES, work=tmp_path / "scratch")
    return bare


@pytest.fixture
def agent(remote, tmp_path) -> Path:
    return agent_checkout(str(remote), tmp_path / "agent")


def wip(repo: Path) -> str:
    """Unrelated work in progress; returns the status that must survive."""
    (repo / "README.md").write_text("staged\n")
    git(repo, "add", "README.md")
    (repo / "README.md").write_text("staged, then edited\n")
    (repo / "notes.txt").write_text("untracked\n")
    return git(repo, "status", "--porcelain=v1", "--", ".", ":!notebooks")


def test_commit_push_and_rerun_is_a_no_op(remote, agent):
    status = wip(agent)
    (agent / "notebooks" / "retrain.py").write_text(NB.format(2))
    ctx = make_ctx(agent)

    result = commit_notebooks(ctx, ["notebooks/retrain.py"])

    assert result.commit and result.pushed and result.branch == "main" and not result.no_changes
    assert git(remote, "rev-parse", "main") == result.commit
    assert git(remote, "log", "-1", "--format=%an|%ae|%s", "main") == (
        "mlops-bot|mlops-bot@users.noreply.dev.azure.com|mlops: update retrain.py [skip ci]")
    assert git(remote, "show", "--name-only", "--format=", "main").split() == ["notebooks/retrain.py"]
    assert git(agent, "status", "--porcelain=v1", "--", ".", ":!notebooks") == status
    assert (agent / "README.md").read_text() == "staged, then edited\n"

    again = commit_notebooks(make_ctx(agent), ["notebooks/retrain.py"])
    assert again.no_changes and again.commit is None and not again.pushed
    assert git(remote, "rev-parse", "main") == result.commit


def test_provenance_record_is_committed_and_stable(remote, agent, monkeypatch):
    base = git(agent, "rev-parse", "HEAD")
    monkeypatch.setenv("BUILD_BUILDID", "1234")
    (agent / "notebooks" / "retrain.py").write_text(NB.format(2))
    result = commit_notebooks(make_ctx(agent), ["notebooks/retrain.py"], provenance=dict(PROVENANCE))

    assert result.provenance == "notebooks/retrain.provenance.json"
    assert set(result.changed) == {"notebooks/retrain.py", "notebooks/retrain.provenance.json"}
    record = json.loads(git(remote, "show", "main:notebooks/retrain.provenance.json"))
    assert record["model"] == {"name": "churn", "version": 7}
    assert record["metrics"]["rmse"]["candidate"] == 0.41
    assert record["data_window"]["end"] == "2024-05-31"
    assert record["pipeline_run"]["build_id"] == "1234"
    assert record["trained_from"] == base
    assert record["notebooks"] == ["notebooks/retrain.py"]
    assert "Retrain churn v7: update retrain.py [skip ci]" == git(remote, "log", "-1", "--format=%s", "main")
    # the same record again: nothing to do (trained_from skips our own commit)
    assert commit_notebooks(make_ctx(agent), ["notebooks/retrain.py"], provenance=dict(PROVENANCE)).no_changes


class FakeWorkspace:
    """The workspace port's export, recording what was asked."""

    def __init__(self, objects: dict[str, bytes]):
        self.objects = objects
        self.exports: list[tuple[str, str]] = []

    def export(self, path: str, *, format: str) -> bytes:
        self.exports.append((path, format))
        return self.objects[path]


def test_from_workspace_keeps_the_repo_format_and_strips_outputs(remote, agent):
    ipynb = dict(IPYNB, cells=[dict(IPYNB["cells"][0], source=["print(43)"])])
    ws = FakeWorkspace({"/retrain": NB.format(9).encode(), "/explore": json.dumps(ipynb).encode()})
    ctx = make_ctx(agent)
    ctx.workspace = ws
    result = commit_notebooks(ctx, ["notebooks/retrain.py", "notebooks/explore.ipynb"], from_workspace=True)

    assert ws.exports == [("/retrain", "SOURCE"), ("/explore", "JUPYTER")]
    assert git(remote, "show", "main:notebooks/retrain.py") == NB.format(9).strip()
    committed = json.loads(git(remote, "show", "main:notebooks/explore.ipynb"))
    assert committed["cells"][0]["source"] == ["print(43)"]
    assert committed["cells"][0]["outputs"] == [] and committed["cells"][0]["execution_count"] is None
    assert (agent / "notebooks" / "retrain.py").read_text() == NB.format(9)
    assert result.pushed

    ctx = make_ctx(agent, keep_outputs=True)
    ctx.workspace = FakeWorkspace({"/explore": json.dumps(IPYNB).encode()})
    commit_notebooks(ctx, ["notebooks/explore.ipynb"], from_workspace=True)
    assert json.loads(git(remote, "show", "main:notebooks/explore.ipynb"))["cells"][0]["outputs"]


def test_dry_run_changes_nothing(remote, agent):
    head = git(agent, "rev-parse", "HEAD")
    (agent / "notebooks" / "retrain.py").write_text(NB.format(2))
    result = commit_notebooks(make_ctx(agent, dry_run=True), ["notebooks/retrain.py"], provenance=dict(PROVENANCE))
    assert result.dry_run and result.commit is None and result.changed
    assert any("would push HEAD:refs/heads/main" in n for n in result.notes)
    assert git(agent, "rev-parse", "HEAD") == head == git(remote, "rev-parse", "main")
    assert not (agent / "notebooks" / "retrain.provenance.json").exists()


def test_no_remote_commits_locally(tmp_path):
    repo = tmp_path / "local"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for rel, text in FILES.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    result = commit_notebooks(make_ctx(repo), ["notebooks/retrain.py"])
    assert result.commit and not result.pushed and result.remote is None
    assert any("not pushed" in n for n in result.notes)
    assert git(repo, "ls-files") == "notebooks/retrain.py"


def test_moved_remote_is_rebased_once(remote, agent, tmp_path):
    status = wip(agent)
    moved = seed(remote, {"docs.md": "other work\n"}, work=tmp_path / "scratch", message="other")
    (agent / "notebooks" / "retrain.py").write_text(NB.format(2))
    result = commit_notebooks(make_ctx(agent), ["notebooks/retrain.py"])
    assert result.pushed and result.rebased
    assert git(remote, "rev-parse", "main^") == moved and git(remote, "rev-parse", "main") == result.commit
    assert git(agent, "rev-parse", "HEAD") == result.commit
    assert git(agent, "status", "--porcelain=v1", "--", ".", ":!notebooks") == status


def test_moved_remote_that_touched_the_notebook_keeps_the_local_commit(remote, agent, tmp_path):
    theirs = seed(remote, {"notebooks/retrain.py": NB.format("'theirs'")}, work=tmp_path / "scratch", message="theirs")
    (agent / "notebooks" / "retrain.py").write_text(NB.format(2))
    with pytest.raises(CheckFailed) as info:
        commit_notebooks(make_ctx(agent), ["notebooks/retrain.py"])
    assert info.value.exit_code == 1
    assert "kept locally" in info.value.message and "git rebase origin/main" in info.value.hint
    assert git(remote, "rev-parse", "main") == theirs
    assert git(agent, "log", "-1", "--format=%an", "HEAD") == "mlops-bot"


def test_permission_error_names_the_identity_and_permission(remote, agent):
    pre_receive_hook(remote, "TF401027: You need the Git 'GenericContribute' permission to perform this action. "
                             "Details: identity 'Build\\\\abc', scope 'repository'.", refs=".*")
    (agent / "notebooks" / "retrain.py").write_text(NB.format(2))
    ctx = make_ctx(agent, organization_url="https://dev.azure.com/contoso", project="ml")
    with pytest.raises(ServiceError) as info:
        commit_notebooks(ctx, ["notebooks/retrain.py"])
    text = info.value.one_line()
    assert "ml Build Service (contoso)" in text and "Contribute" in text and "TF401027" in text


def test_pull_request_without_an_organization_is_a_usage_error(agent):
    head = git(agent, "rev-parse", "HEAD")
    (agent / "notebooks" / "retrain.py").write_text(NB.format(2))
    with pytest.raises(UsageError) as info:
        commit_notebooks(make_ctx(agent), ["notebooks/retrain.py"], pull_request=True)
    assert info.value.exit_code == 2
    assert git(agent, "rev-parse", "HEAD") == head


def test_protected_branch_without_an_organization_keeps_the_commit(remote, agent):
    pre_receive_hook(remote, "TF402455: Pushes to this branch are not permitted; you must use a pull request to update this branch.")
    (agent / "notebooks" / "retrain.py").write_text(NB.format(2))
    with pytest.raises(CheckFailed, match="TF402455"):
        commit_notebooks(make_ctx(agent), ["notebooks/retrain.py"])


def test_helpers():
    assert automation_branch("churn model", 7, "abcdef1234") == "automation/retrain-churn-model-v7"
    assert automation_branch("churn", None, "abcdef1234") == "automation/retrain-churn-abcdef12"
    assert metrics_table({"rmse": 0.5}) == ["| metric | value |", "|---|---|", "| rmse | 0.5 |"]


# ---------------------------------------------------------------- through Azure Repos (emulator)


@pytest.fixture
def azure(remote, tmp_path, monkeypatch):
    """The remote served over HTTP (token required) and mirrored into the emulator's refs."""
    monkeypatch.setenv("SYSTEM_ACCESSTOKEN", TOKEN)
    with AzureDevOpsEmulator(token=TOKEN) as emu, GitHttpServer(
        remote.parent, token=TOKEN, on_push=lambda bare: mirror_refs(bare, emu, "models")
    ) as server:
        emu.add_project("ml")
        emu.add_repository("ml", "models")
        mirror_refs(remote, emu, "models")
        url = server.url_for("repo.git")
        checkout = agent_checkout(url, tmp_path / "pipeline", env={
            "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraheader", "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: bearer {TOKEN}"})
        yield emu, server, checkout


def azure_ctx(emu, repo, **scm):
    return make_ctx(repo, organization_url=emu.org_url, project="ml", repository="models", **scm)


def new_work_item(emu) -> int:
    from azure.devops.v7_1.work_item_tracking.models import JsonPatchOperation

    from devops_mlops.adapters.azure.connection import AzureDevOps, resolve

    ado = AzureDevOps(resolve(organization_url=emu.org_url, project="ml"))
    item = ado.wit().create_work_item([JsonPatchOperation(op="add", path="/fields/System.Title", value="rmse out of range")],
                                      project="ml", type="Bug")
    return item.id


def test_protected_branch_goes_through_a_pull_request(azure, remote):
    emu, server, repo = azure
    wid = new_work_item(emu)
    main = git(remote, "rev-parse", "main")
    (repo / "notebooks" / "retrain.py").write_text(NB.format(2))
    result = commit_notebooks(azure_ctx(emu, repo, protected=True), ["notebooks/retrain.py"],
                              provenance=dict(PROVENANCE, work_item=wid))

    assert result.branch == "automation/retrain-churn-v7" and result.pushed
    assert git(remote, "rev-parse", "main") == main  # main untouched
    assert git(remote, "rev-parse", "automation/retrain-churn-v7") == result.commit
    pr = result.pull_request
    assert pr.created and pr.url.endswith(f"/ml/_git/models/pullrequest/{pr.pull_request_id}")
    stored = emu.pull_request(pr.pull_request_id)
    assert stored["title"] == "Retrain churn v7" and stored["targetRefName"] == "refs/heads/main"
    assert "| rmse | 0.41 | 0.52 |" in stored["description"]
    assert [w["id"] for w in stored["_workItems"]] == [str(wid)]
    assert server.pushes() and server.leaks == [] and not server.rejected()
    assert TOKEN not in (repo / ".git" / "config").read_text()


def test_policy_rejection_falls_back_to_a_pull_request_and_updates_it(azure, remote):
    emu, _server, repo = azure
    pre_receive_hook(remote, "TF402455: Pushes to this branch are not permitted; you must use a pull request to update this branch.")
    (repo / "notebooks" / "retrain.py").write_text(NB.format(2))
    first = commit_notebooks(azure_ctx(emu, repo), ["notebooks/retrain.py"], provenance=dict(PROVENANCE))
    assert first.pull_request.created and any("TF402455" in n for n in first.notes)

    wid = new_work_item(emu)
    (repo / "notebooks" / "retrain.py").write_text(NB.format(3))
    second = commit_notebooks(azure_ctx(emu, repo), ["notebooks/retrain.py"],
                              provenance=dict(PROVENANCE, metrics={"rmse": 0.39}, work_item=wid))
    assert not second.pull_request.created
    assert second.pull_request.pull_request_id == first.pull_request.pull_request_id
    assert len([p for p in emu.pull_requests if p["status"] == "active"]) == 1
    stored = emu.pull_request(first.pull_request.pull_request_id)
    assert "| rmse | 0.39 |" in stored["description"]
    assert str(wid) in [w["id"] for w in stored["_workItems"]]
    assert git(remote, "show", "automation/retrain-churn-v7:notebooks/retrain.py") == NB.format(3).strip()


def test_from_workspace_with_the_local_workspace_adapter(remote, agent):
    ctx = make_ctx(agent)
    ctx.workspace.import_("/retrain", NB.format(11).encode(), format="SOURCE", language="PYTHON", overwrite=True)
    result = commit_notebooks(ctx, ["notebooks/retrain.py"], from_workspace=True)
    assert result.pushed and git(remote, "show", "main:notebooks/retrain.py") == NB.format(11).strip()
    assert "exported /retrain from the workspace" in result.notes
    assert git(remote, "show", "--name-only", "--format=", "main").split() == ["notebooks/retrain.py"]


def test_rebased_push_leaves_head_when_a_local_change_is_in_the_way(remote, agent, tmp_path):
    seed(remote, {"README.md": "upstream readme\n"}, work=tmp_path / "scratch", message="other")
    (agent / "README.md").write_text("my local readme\n")  # unstaged, on a file the remote changed
    (agent / "notebooks" / "retrain.py").write_text(NB.format(2))
    result = commit_notebooks(make_ctx(agent), ["notebooks/retrain.py"])
    assert result.pushed and result.rebased
    assert git(remote, "show", "main:notebooks/retrain.py") == NB.format(2).strip()
    assert (agent / "README.md").read_text() == "my local readme\n"
    assert any("local HEAD left at" in n for n in result.notes)
    assert git(agent, "log", "-1", "--format=%an", "HEAD") == "mlops-bot"
