"""The retrain auto-commit on a local target: a local branch, nothing pushed, nothing else touched.
Real git: a bare remote in tmp, a clone with work in progress; `git ls-remote` before and after."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devops_mlops.config import load_config
from devops_mlops.context import Context
from devops_mlops.errors import UsageError
from devops_mlops.ops.commit import commit_notebooks
from devops_mlops.ops.commit_local import local_branch
from devops_mlops.testing.git_http_server import git, init_bare, seed

NB = "# Databricks notebook source\nprint({})\n"
CONFIG = ("project: churn\nmodel: {name: churn}\n"
          "targets:\n  local: {default: true}\n  dev: {backend: databricks, workspace_dir: /Shared/churn}\n")
PROVENANCE = {"model": "churn", "version": 7, "metrics": {"rmse": {"candidate": 0.41, "production": 0.52}}}


@pytest.fixture
def remote(tmp_path) -> Path:
    bare = init_bare(tmp_path / "remotes" / "repo.git")
    seed(bare, {"mlops.yaml": CONFIG, "notebooks/retrain.py": NB.format(1), "README.md": "r\n"}, work=tmp_path / "scratch")
    return bare


@pytest.fixture
def clone(remote, tmp_path) -> Path:
    git(tmp_path, "clone", "-q", str(remote), "clone")
    return tmp_path / "clone"


def ctx_for(repo: Path, target: str | None = None, *, push=None, dry_run=False, **scm) -> Context:
    cfg = load_config(repo / "mlops.yaml")
    for key, value in scm.items():
        setattr(cfg.scm, key, value)
    ctx = Context(cfg, cfg.target(target), dry_run=dry_run)
    ctx.push = push
    return ctx


def snapshot(repo: Path, remote: Path) -> dict[str, str]:
    """What must not change: the remote's refs, HEAD, the checked-out branch, index and working tree."""
    return {"ls-remote": git(repo, "ls-remote", str(remote)), "remote refs": git(remote, "for-each-ref"),
            "head": git(repo, "rev-parse", "HEAD"), "branch": git(repo, "symbolic-ref", "HEAD"),
            "status": git(repo, "status", "--porcelain=v1", "--untracked-files=all"),
            "index": git(repo, "ls-files", "--stage")}


def wip(repo: Path) -> None:
    (repo / "README.md").write_text("staged\n")
    git(repo, "add", "README.md")
    (repo / "README.md").write_text("staged, then edited\n")
    (repo / "notes.txt").write_text("untracked\n")
    (repo / "notebooks" / "retrain.py").write_text(NB.format(2))  # the retrained notebook


def test_the_auto_commit_goes_on_a_local_branch_and_nothing_else_moves(remote, clone):
    wip(clone)
    before = snapshot(clone, remote)
    result = commit_notebooks(ctx_for(clone), ["notebooks/retrain.py"], provenance=PROVENANCE, automation=True)

    assert snapshot(clone, remote) == before  # no remote ref, HEAD, index or working tree change
    assert not (clone / "notebooks" / "retrain.provenance.json").exists()
    branch = "mlops/retrain-churn-v7"
    assert result.committed_on == branch and not result.pushed and result.branch is None
    assert git(clone, "rev-parse", branch) == result.commit
    assert git(clone, "rev-parse", f"{branch}^1") == before["head"]
    assert sorted(git(clone, "diff", "--name-only", before["head"], branch).split()) == [
        "notebooks/retrain.provenance.json", "notebooks/retrain.py"]
    assert git(clone, "show", f"{branch}:notebooks/retrain.py") == NB.format(2).strip()
    record = json.loads(git(clone, "show", f"{branch}:notebooks/retrain.provenance.json"))
    assert record["model"] == {"name": "churn", "version": 7}
    assert "[skip ci]" in git(clone, "log", "-1", "--format=%B", branch)
    assert git(clone, "log", "-1", "--format=%an", branch) == "mlops-bot"
    line = f"committed on {branch}, not pushed (target local has backend: local; give --push, or set scm.push: true, to push)"
    assert line in result.notes
    assert result.summary().startswith(f"committed {result.commit[:12]} on {branch}, not pushed")
    doc = result.as_dict()
    assert doc["committed_on"] == branch and doc["pushed"] is False and doc["push_decision"].startswith("target local")

    again = commit_notebooks(ctx_for(clone), ["notebooks/retrain.py"], provenance=PROVENANCE, automation=True)
    assert again.commit == result.commit and f"{branch} already had this commit" in again.notes
    assert git(clone, "for-each-ref", "--format=%(refname)", "refs/heads/mlops") == f"refs/heads/{branch}"
    assert snapshot(clone, remote) == before


def test_a_branch_of_that_name_with_other_content_is_kept(remote, clone):
    (clone / "notebooks" / "retrain.py").write_text(NB.format(2))
    first = commit_notebooks(ctx_for(clone), ["notebooks/retrain.py"], provenance=PROVENANCE, automation=True)
    (clone / "notebooks" / "retrain.py").write_text(NB.format(3))  # a new rehearsal, versions restarted
    second = commit_notebooks(ctx_for(clone), ["notebooks/retrain.py"], provenance=PROVENANCE, automation=True)
    assert git(clone, "rev-parse", "mlops/retrain-churn-v7") == first.commit
    assert second.committed_on == f"mlops/retrain-churn-v7-{second.commit[:8]}"
    assert git(clone, "rev-parse", second.committed_on) == second.commit


def test_dry_run_names_the_branch_and_writes_nothing(remote, clone):
    (clone / "notebooks" / "retrain.py").write_text(NB.format(2))
    before = snapshot(clone, remote)
    result = commit_notebooks(ctx_for(clone, dry_run=True), ["notebooks/retrain.py"], provenance=PROVENANCE,
                              automation=True)
    assert result.commit is None and result.committed_on == "mlops/retrain-churn-v7"
    assert any(n.startswith("would commit on mlops/retrain-churn-v7, not pushed") for n in result.notes)
    assert snapshot(clone, remote) == before and git(clone, "branch", "--list", "mlops/*") == ""


@pytest.mark.parametrize("how", ["--push", "scm.push", "targets.local.scm.push"])
def test_asked_to_push_it_pushes(remote, clone, how):
    (clone / "notebooks" / "retrain.py").write_text(NB.format(2))
    cfg = clone / "mlops.yaml"  # written as a person would (not part of the commit)
    if how == "scm.push":
        cfg.write_text(CONFIG + "scm: {push: true}\n")
    elif how == "targets.local.scm.push":
        cfg.write_text(CONFIG.replace("local: {default: true}", "local: {default: true, scm: {push: true}}"))
    ctx = ctx_for(clone, push=True if how == "--push" else None)
    assert ctx.target.scm.push is (True if how.startswith("targets") else None)
    before = git(clone, "ls-remote", str(remote))
    result = commit_notebooks(ctx, ["notebooks/retrain.py"], provenance=PROVENANCE, automation=True)
    assert result.pushed and result.branch == "main" and result.committed_on is None
    assert git(remote, "rev-parse", "main") == result.commit and git(clone, "ls-remote", str(remote)) != before


def test_a_databricks_target_pushes_unless_told_not_to(remote, clone):
    (clone / "notebooks" / "retrain.py").write_text(NB.format(2))
    quiet = commit_notebooks(ctx_for(clone, "dev", push=False), ["notebooks/retrain.py"], provenance=PROVENANCE,
                             automation=True)
    assert not quiet.pushed and quiet.committed_on == "mlops/retrain-churn-v7" and quiet.push_decision == "--no-push"
    assert git(remote, "rev-parse", "main") != quiet.commit
    loud = commit_notebooks(ctx_for(clone, "dev"), ["notebooks/retrain.py"], provenance=PROVENANCE, automation=True)
    assert loud.pushed and git(remote, "rev-parse", "main") == loud.commit


def test_a_protected_branch_on_a_local_target_opens_no_pull_request(remote, clone):
    (clone / "notebooks" / "retrain.py").write_text(NB.format(2))
    before = snapshot(clone, remote)  # no organization is known: a pull request could not even be tried
    result = commit_notebooks(ctx_for(clone, protected=True), ["notebooks/retrain.py"], provenance=PROVENANCE,
                              automation=True)
    assert result.pull_request is None and result.committed_on == "mlops/retrain-churn-v7"
    assert snapshot(clone, remote) == before


def test_mlops_commit_with_no_push_stays_on_the_checked_out_branch(remote, clone):
    (clone / "notebooks" / "retrain.py").write_text(NB.format(2))
    remote_before = git(clone, "ls-remote", str(remote))
    result = commit_notebooks(ctx_for(clone, push=False), ["notebooks/retrain.py"])
    assert result.commit == git(clone, "rev-parse", "main") and not result.pushed
    assert result.committed_on == "main" and git(clone, "ls-remote", str(remote)) == remote_before
    assert any(n.startswith("committed on main, not pushed (--no-push; run without --no-push") for n in result.notes)
    with pytest.raises(UsageError, match="--no-push"):
        commit_notebooks(ctx_for(clone, push=False), ["notebooks/retrain.py"], pull_request=True,
                         provenance={"version": 8})


def test_branch_names():
    assert local_branch("churn", 7) == "mlops/retrain-churn-v7"
    assert local_branch("main.ml.churn model", None) == "mlops/retrain-main.ml.churn-model"
