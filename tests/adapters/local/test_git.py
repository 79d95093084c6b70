"""The local git adapter on real repositories in tmp folders (a bare remote, an agent-style
shallow clone on a detached HEAD, a loopback smart-HTTP server that requires the token)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from devops_mlops.adapters.local.git import LocalGit
from devops_mlops.adapters.local.git_auth import auth_env, classify_push
from devops_mlops.errors import ConflictError, InputError, UsageError
from devops_mlops.testing.git_http_server import GitHttpServer, agent_checkout, git, init_bare, pre_receive_hook, seed

TOKEN = "tok-9f8e7d6c5b4a"
NB = "# Databricks notebook source\nprint({})\n"


@pytest.fixture
def remote(tmp_path) -> Path:
    bare = init_bare(tmp_path / "remotes" / "repo.git")
    seed(bare, {"notebooks/train.py": NB.format(1), "notebooks/other.py": NB.format(1), "README.md": "readme\n"},
         work=tmp_path / "scratch")
    return bare


@pytest.fixture
def agent(remote, tmp_path) -> Path:
    return agent_checkout(str(remote), tmp_path / "agent")


def lg(path: Path) -> LocalGit:
    return LocalGit(path, bot_name="mlops-bot", bot_email="bot@example.invalid")


def local_changes(repo: Path) -> None:
    """Unrelated work in progress: staged, unstaged, both, untracked."""
    (repo / "README.md").write_text("staged\n")
    git(repo, "add", "README.md")
    (repo / "README.md").write_text("staged then edited\n")
    (repo / "notebooks" / "other.py").write_text(NB.format("'unstaged'"))
    (repo / "scratch.txt").write_text("untracked\n")


def snapshot(repo: Path) -> tuple[str, str, str, str]:
    return (
        git(repo, "status", "--porcelain=v1", "--", ".", ":!notebooks/train.py"),
        git(repo, "diff", "--", ".", ":!notebooks/train.py"),
        git(repo, "diff", "--cached", "--", ".", ":!notebooks/train.py"),
        (repo / "README.md").read_text() + (repo / "notebooks/other.py").read_text() + (repo / "scratch.txt").read_text(),
    )


def test_commit_on_shallow_detached_checkout_takes_only_the_given_path(agent):
    g = lg(agent)
    assert g.is_shallow() and g.branch() is None
    base = g.head()
    local_changes(agent)
    (agent / "notebooks" / "train.py").write_text(NB.format(2))
    before = snapshot(agent)

    sha = g.commit_paths(["notebooks/train.py"], "retrain [skip ci]")

    assert sha and g.head() == sha and g.branch() is None
    assert git(agent, "show", "--name-only", "--format=", sha).split() == ["notebooks/train.py"]
    assert git(agent, "log", "-1", "--format=%an <%ae>|%cn|%s", sha) == "mlops-bot <bot@example.invalid>|mlops-bot|retrain [skip ci]"
    assert git(agent, "rev-parse", f"{sha}^") == base
    assert snapshot(agent) == before  # everything else exactly as it was
    assert "train.py" not in git(agent, "status", "--porcelain")  # the index caught up for our path


def test_no_changes_makes_no_commit(agent):
    g = lg(agent)
    head = g.head()
    assert g.commit_paths(["notebooks/train.py"], "x") is None
    assert g.head() == head
    assert g.changed({"notebooks/train.py": NB.format(1).encode()}) == []
    assert g.changed({"notebooks/train.py": NB.format(3).encode(), "new.json": b"{}"}) == ["new.json", "notebooks/train.py"]


def test_commit_on_a_branch_and_in_an_empty_repository(tmp_path):
    repo = tmp_path / "fresh"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.py").write_text(NB.format(1))
    (repo / "b.txt").write_text("not mine\n")
    g = lg(repo)
    assert g.head() is None and g.remote_url() is None
    sha = g.commit_paths(["a.py"], "first")
    assert git(repo, "rev-parse", "main") == sha and g.branch() == "main"
    assert git(repo, "status", "--porcelain") == "?? b.txt"


def test_relpath_refuses_files_outside_and_non_repositories(agent, tmp_path):
    g = lg(agent)
    assert g.relpath(agent / "notebooks" / "train.py") == "notebooks/train.py"
    with pytest.raises(InputError):
        g.relpath(tmp_path / "elsewhere.py")
    with pytest.raises(InputError):
        g.relpath(agent / ".git" / "config")
    (tmp_path / "plain").mkdir()
    plain = lg(tmp_path / "plain")  # opened on first use
    assert not plain.is_repository() and plain.tracked_files(tmp_path / "plain") is None
    with pytest.raises(UsageError, match="not inside a git repository"):
        plain.head()
    with pytest.raises(UsageError):
        plain.relpath(tmp_path / "plain" / "x.py")


def test_source_commit_skips_our_own_commits(agent):
    g = lg(agent)
    base = g.head()
    (agent / "notebooks" / "train.py").write_text(NB.format(2))
    g.commit_paths(["notebooks/train.py"], "retrain [skip ci]")
    assert g.source_commit("[skip ci]") == base


def test_auth_env_appends_to_existing_config_and_skips_non_http():
    env = auth_env("https://org@dev.azure.com/org/p/_git/r", "AUTHORIZATION: bearer x", base={"GIT_CONFIG_COUNT": "2"})
    assert env["GIT_CONFIG_COUNT"] == "4"
    assert env["GIT_CONFIG_KEY_2"] == env["GIT_CONFIG_KEY_3"] == "http.https://org@dev.azure.com/org/p/_git/r.extraheader"
    assert env["GIT_CONFIG_VALUE_2"] == "" and env["GIT_CONFIG_VALUE_3"] == "AUTHORIZATION: bearer x"
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert "GIT_CONFIG_COUNT" not in auth_env("/srv/repo.git", "AUTHORIZATION: bearer x", base={})
    assert "GIT_CONFIG_COUNT" not in auth_env("https://h/r", None, base={})
    assert "pw" not in auth_env("https://u:pw@h/r", "AUTHORIZATION: bearer x", base={})["GIT_CONFIG_KEY_0"]


def test_classify_push_output():
    assert classify_push("! [remote rejected] HEAD -> main (TF402455: Pushes to this branch are not permitted)") == "protected"
    assert classify_push("remote: TF401027: You need the Git 'GenericContribute' permission") == "permission"
    assert classify_push("!\tHEAD:refs/heads/main\t[rejected] (fetch first)") == "non-fast-forward"
    assert classify_push("fatal: Authentication failed for 'http://x/'") == "auth"
    assert classify_push("fatal: unable to access") == "error"


def test_push_over_http_sends_the_token_only_as_a_header(remote, tmp_path, monkeypatch):
    with GitHttpServer(remote.parent, token=TOKEN) as server:
        url = server.url_for("repo.git")
        header_env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraheader",
                      "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: bearer {TOKEN}"}
        repo = agent_checkout(url, tmp_path / "agent", env=header_env)
        # a checkout with persistCredentials leaves a stale header behind: ours must replace it
        git(repo, "config", f"http.{url}.extraheader", "AUTHORIZATION: bearer stale-token")
        g = lg(repo)
        (repo / "notebooks" / "train.py").write_text(NB.format(2))
        sha = g.commit_paths(["notebooks/train.py"], "retrain [skip ci]")

        monkeypatch.delenv("SYSTEM_ACCESSTOKEN", raising=False)
        server.requests.clear()
        without = g.push(sha, "main")
        assert not without.ok and without.kind == "auth"

        monkeypatch.setenv("SYSTEM_ACCESSTOKEN", TOKEN)
        server.requests.clear()
        result = g.push(sha, "main")
        assert result.ok and result.kind == "ok", result
        assert server.pushes() and all(r.authorized and r.auth_scheme == "bearer" for r in server.requests)
        assert server.leaks == []  # no process had the token in its arguments
    assert git(remote, "rev-parse", "main") == sha
    assert TOKEN not in (repo / ".git" / "config").read_text()
    assert TOKEN not in result.detail and TOKEN not in without.detail


def test_push_with_a_personal_access_token_uses_basic(remote, tmp_path, monkeypatch):
    with GitHttpServer(remote.parent, token=TOKEN) as server:
        monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", TOKEN)
        repo = tmp_path / "clone"
        subprocess.run(["git", "clone", "-q", server.url_for("repo.git"), str(repo)], check=True,
                       env={**os.environ, **auth_env(server.url_for("repo.git"))})
        g = lg(repo)
        (repo / "notebooks" / "train.py").write_text(NB.format(5))
        sha = g.commit_paths(["notebooks/train.py"], "m")
        assert g.push(sha, "main").ok
        assert {r.auth_scheme for r in server.requests} == {"basic"} and server.leaks == []
    assert git(remote, "rev-parse", "main") == sha


def test_policy_and_permission_rejections_are_classified(remote, agent):
    g = lg(agent)
    (agent / "notebooks" / "train.py").write_text(NB.format(2))
    sha = g.commit_paths(["notebooks/train.py"], "m")
    pre_receive_hook(remote, "TF402455: Pushes to this branch are not permitted; you must use a pull request to update this branch.")
    assert g.push(sha, "main").kind == "protected"
    assert g.push(sha, "automation/x").ok  # only main is protected
    pre_receive_hook(remote, "TF401027: You need the Git 'GenericContribute' permission to perform this action. "
                             "Details: identity 'Build\\1234', scope 'repository'.", refs=".*")
    result = g.push(sha, "main")
    assert result.kind == "permission" and "GenericContribute" in result.detail


def test_moved_remote_rebase_in_memory_and_conflicts(remote, agent, tmp_path):
    g = lg(agent)
    local_changes(agent)
    (agent / "notebooks" / "train.py").write_text(NB.format(2))
    sha = g.commit_paths(["notebooks/train.py"], "retrain [skip ci]")
    before = snapshot(agent)
    moved = seed(remote, {"docs.md": "someone else\n"}, work=tmp_path / "scratch", message="other work")

    assert g.push(sha, "main").kind == "non-fast-forward"
    tip = g.fetch("main")
    assert tip == moved
    rebased = g.rebase_paths(sha, tip, ["notebooks/train.py"])
    assert git(agent, "rev-parse", f"{rebased}^") == moved
    assert git(agent, "show", f"{rebased}:notebooks/train.py") == NB.format(2).strip()
    assert git(agent, "show", f"{rebased}:docs.md") == "someone else"
    assert git(agent, "log", "-1", "--format=%an|%s", rebased) == "mlops-bot|retrain [skip ci]"
    assert g.push(rebased, "main").ok
    assert g.advance_head(sha, rebased) and g.head() == rebased
    assert (agent / "docs.md").read_text() == "someone else\n"
    assert snapshot(agent)[1:] == before[1:] and (agent / "scratch.txt").exists()

    seed(remote, {"notebooks/train.py": NB.format("'theirs'")}, work=tmp_path / "scratch", message="theirs")
    (agent / "notebooks" / "train.py").write_text(NB.format(3))
    mine = g.commit_paths(["notebooks/train.py"], "again")
    with pytest.raises(ConflictError, match="also changed notebooks/train.py"):
        g.rebase_paths(mine, g.fetch("main"), ["notebooks/train.py"])
    assert g.rebase_paths(mine, g.fetch("main"), ["notebooks/train.py"], overwrite=True)


def test_fetch_of_a_missing_branch_is_none(agent):
    assert lg(agent).fetch("automation/none") is None


def test_the_leak_check_can_fail(remote, tmp_path):
    """The server's /proc scan is not a test that cannot fail: a token passed with -c is caught."""
    with GitHttpServer(remote.parent, token=TOKEN) as server:
        subprocess.run(["git", "-c", f"http.extraheader=AUTHORIZATION: bearer {TOKEN}", "ls-remote",
                        server.url_for("repo.git")], check=True, capture_output=True)
        assert server.leaks and all(r.authorized for r in server.requests)
        server.leaks.clear()
        bad = subprocess.run(["git", "ls-remote", server.url_for("repo.git")], capture_output=True, check=False,
                             env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
        assert bad.returncode != 0 and server.rejected()
