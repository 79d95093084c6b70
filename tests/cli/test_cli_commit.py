"""`mlops commit` as a process: exit codes, text and JSON output, and the token never shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devops_mlops.testing.git_http_server import GitHttpServer, agent_checkout, git, init_bare, seed

TOKEN = "cli-token-77aa88bb99"
NB = "# Databricks notebook source\nprint({})\n"
FILES = {"mlops.yaml": "project: churn\nmodel: {name: churn}\n", "notebooks/retrain.py": NB.format(1), "README.md": "r\n"}


def mlops(repo: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "devops_mlops", *args], cwd=repo, capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})}, timeout=120)


@pytest.fixture
def remote(tmp_path) -> Path:
    bare = init_bare(tmp_path / "remotes" / "repo.git")
    seed(bare, FILES, work=tmp_path / "scratch")
    return bare


@pytest.fixture
def agent(remote, tmp_path) -> Path:
    return agent_checkout(str(remote), tmp_path / "agent")


def test_commit_text_then_no_changes(remote, agent):
    (agent / "notebooks" / "retrain.py").write_text(NB.format(2))
    first = mlops(agent, "commit", "notebooks/retrain.py", "-m", "Retrain by hand")
    assert first.returncode == 0, first.stderr
    assert "committed notebooks/retrain.py" in first.stdout and "pushed to origin/main" in first.stdout
    assert git(remote, "log", "-1", "--format=%s", "main") == "Retrain by hand [skip ci]"
    again = mlops(agent, "commit", "notebooks/retrain.py")
    assert again.returncode == 0 and again.stdout.startswith("no changes")
    assert git(remote, "rev-list", "--count", "main") == "2"


def test_json_is_one_document(remote, agent, tmp_path):
    (agent / "notebooks" / "retrain.py").write_text(NB.format(2))
    prov = tmp_path / "prov.json"
    prov.write_text(json.dumps({"version": 3, "metrics": {"rmse": 0.4}}))
    out = mlops(agent, "--format", "json", "commit", "notebooks/retrain.py", "--provenance", str(prov))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["pushed"] and doc["branch"] == "main" and doc["commit"] == git(remote, "rev-parse", "main")
    assert doc["provenance"] == "notebooks/retrain.provenance.json" and doc["pull_request"] is None


def test_dry_run_prints_the_plan(remote, agent):
    (agent / "notebooks" / "retrain.py").write_text(NB.format(2))
    out = mlops(agent, "--dry-run", "commit", "notebooks/retrain.py")
    assert out.returncode == 0, out.stderr
    assert "would commit notebooks/retrain.py" in out.stdout and "would push HEAD:refs/heads/main" in out.stdout
    assert git(remote, "rev-list", "--count", "main") == "1"


def test_no_push_and_scm_push_false_keep_the_commit_local(remote, agent):
    (agent / "notebooks" / "retrain.py").write_text(NB.format(2))
    refs = git(agent, "ls-remote", "origin")
    out = mlops(agent, "commit", "notebooks/retrain.py", "--no-push")
    assert out.returncode == 0, out.stderr
    assert "committed on HEAD (detached), not pushed (--no-push; run without --no-push to push)" in out.stdout
    assert git(agent, "ls-remote", "origin") == refs and git(agent, "log", "-1", "--format=%an") == "mlops-bot"
    (agent / "mlops.yaml").write_text(FILES["mlops.yaml"] + "scm: {push: false}\n")
    (agent / "notebooks" / "retrain.py").write_text(NB.format(3))
    doc = json.loads(mlops(agent, "--format", "json", "commit", "notebooks/retrain.py").stdout)
    assert doc["pushed"] is False and doc["committed_on"] == "HEAD (detached)" and doc["push_decision"] == "scm.push: false"
    assert git(agent, "ls-remote", "origin") == refs
    (agent / "notebooks" / "retrain.py").write_text(NB.format(4))
    both = mlops(agent, "commit", "notebooks/retrain.py", "--push")  # the command line wins
    assert both.returncode == 0 and "pushed to origin/main" in both.stdout and git(agent, "ls-remote", "origin") != refs


def test_exit_codes_for_user_mistakes_and_failures(remote, agent, tmp_path):
    (agent / "notebooks" / "retrain.py").write_text(NB.format(2))
    no_org = mlops(agent, "commit", "notebooks/retrain.py", "--pull-request")
    assert no_org.returncode == 2 and "error: --pull-request needs an Azure DevOps organization" in no_org.stderr
    missing = mlops(agent, "commit", "notebooks/nope.py")
    assert missing.returncode == 2 and "no such file" in missing.stderr
    seed(remote, {"notebooks/retrain.py": NB.format("'theirs'")}, work=tmp_path / "scratch", message="theirs")
    moved = mlops(agent, "commit", "notebooks/retrain.py")
    assert moved.returncode == 1 and moved.stderr.startswith("failed:") and "git rebase origin/main" in moved.stderr
    for out in (no_org, missing, moved):
        assert "Traceback" not in out.stderr


def test_the_token_appears_nowhere(remote, tmp_path):
    with GitHttpServer(remote.parent, token=TOKEN) as server:
        env = {"SYSTEM_ACCESSTOKEN": TOKEN}
        repo = agent_checkout(server.url_for("repo.git"), tmp_path / "agent", env={
            "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraheader", "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: bearer {TOKEN}"})
        server.requests.clear()
        (repo / "notebooks" / "retrain.py").write_text(NB.format(2))
        out = mlops(repo, "-v", "commit", "notebooks/retrain.py", env=env)
        assert out.returncode == 0, out.stderr
        assert server.pushes() and all(r.authorized for r in server.requests)
        assert server.leaks == []
    assert TOKEN not in out.stdout + out.stderr
    assert TOKEN not in (repo / ".git" / "config").read_text()
    assert not list((repo / ".git").glob("*.lock"))
