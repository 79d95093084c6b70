"""The local repository port's contract (:class:`devops_mlops.ports.git.Repository`), run over every
implementation: ``LocalGit`` on real git repositories in a temporary folder (a clone of a bare
remote), and the in-memory fake (the fast tier).

Each parameter builds a :class:`Scene`: the repository under test, cloned from a remote whose
``main`` holds README.md and two notebooks, with what a test needs to act around it (write the
working tree, commit as a person, push as someone else, protect a branch) and to read the outcome.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from devops_mlops.adapters.local.git import LocalGit
from devops_mlops.config import load_config
from devops_mlops.errors import ConflictError, InputError, ServiceError, UsageError
from devops_mlops.files.jobs import committed_files
from devops_mlops.ports.git import PushResult, Repository
from devops_mlops.testing.fakes.git import FakeRemote, FakeRepository
from devops_mlops.testing.git_http_server import git, init_bare, pre_receive_hook, seed

BOT = ("mlops-bot", "bot@example.invalid")
NB = "# Databricks notebook source\nprint({})\n"
START = {"README.md": "readme\n", "notebooks/train.py": NB.format(1), "notebooks/other.py": NB.format(1)}
PROTECTED = "TF402455: Pushes to this branch are not permitted; you must use a pull request to update this branch."


@dataclass
class Scene:
    repo: Repository
    root: Path
    #: the repository of another folder that is no repository yet
    elsewhere: Callable[[Path], Repository]
    write: Callable[[str, str], None]
    read: Callable[[str], str | None]
    person_commit: Callable[[dict[str, str], str], str]
    files_at: Callable[[str], dict[str, str]]
    author_of: Callable[[str], str]
    someone_pushes: Callable[[dict[str, str], str], str]
    remote_tip: Callable[[str], str | None]
    protect: Callable[[str], None]


def _local(tmp_path: Path) -> Scene:
    bare = init_bare(tmp_path / "remote.git")
    seed(bare, START, work=tmp_path / "scratch", message="start")
    git(tmp_path, "clone", "-q", str(bare), "work")
    root = (tmp_path / "work").resolve()
    git(root, "config", "user.email", "dev@example.com")

    def make(path: Path) -> LocalGit:
        return LocalGit(path, bot_name=BOT[0], bot_email=BOT[1])

    def write(rel: str, text: str) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)

    def person_commit(files: dict[str, str], message: str) -> str:
        for rel, text in files.items():
            write(rel, text)
        git(root, "add", "--", *files)
        git(root, "commit", "-q", "-m", message)
        return git(root, "rev-parse", "HEAD")

    def files_at(sha: str) -> dict[str, str]:
        names = git(root, "ls-tree", "-r", "--name-only", sha).splitlines()
        return {n: subprocess.run(["git", "-C", str(root), "show", f"{sha}:{n}"], capture_output=True, text=True,
                                  check=True).stdout for n in names}

    def remote_tip(branch: str) -> str | None:
        out = subprocess.run(["git", "-C", str(bare), "rev-parse", "-q", "--verify", f"refs/heads/{branch}"],
                             capture_output=True, text=True, check=False).stdout.strip()
        return out or None

    return Scene(
        repo=make(root), root=root, elsewhere=make, write=write,
        read=lambda rel: (root / rel).read_text() if (root / rel).is_file() else None,
        person_commit=person_commit, files_at=files_at,
        author_of=lambda sha: git(root, "log", "-1", "--format=%ae", sha),
        someone_pushes=lambda files, message: seed(bare, files, work=tmp_path / "scratch", message=message),
        remote_tip=remote_tip,
        protect=lambda branch: pre_receive_hook(bare, PROTECTED, refs=f"refs/heads/{branch}"),
    )


def _fake(tmp_path: Path) -> Scene:
    remote = FakeRemote()
    remote.advance("main", {rel: text.encode() for rel, text in START.items()}, "start")
    root = tmp_path / "work"
    repo = FakeRepository.clone(remote, root, bot_name=BOT[0], bot_email=BOT[1], user_email="dev@example.com")

    def files_at(sha: str) -> dict[str, str]:
        return {rel: data.decode() for rel, data in repo.files(sha).items()}

    return Scene(
        repo=repo, root=root,
        elsewhere=lambda path: FakeRepository(path, repository=False),
        write=lambda rel, text: repo.write(rel, text),
        read=lambda rel: repo.worktree[rel].decode() if rel in repo.worktree else None,
        person_commit=lambda files, message: repo.commit(files, message),
        files_at=files_at,
        author_of=lambda sha: repo.commits[sha].author[1],
        someone_pushes=lambda files, message: remote.advance("main", {k: v.encode() for k, v in files.items()},
                                                             message),
        remote_tip=lambda branch: remote.branches.get(branch),
        protect=lambda branch: remote.reject(branch, "protected", PROTECTED),
    )


@pytest.fixture(params=["local", pytest.param("fake", marks=pytest.mark.fast)])
def scene(request, tmp_path) -> Scene:
    return {"local": _local, "fake": _fake}[request.param](tmp_path)


def test_a_folder_that_is_no_repository_yet_then_initialised(scene: Scene, tmp_path):
    folder = tmp_path / "new-project"
    repo = scene.elsewhere(folder)
    assert not repo.is_repository() and repo.tracked_files(folder) is None
    for question in (repo.head, repo.branch, lambda: repo.branch_tip("main"), lambda: repo.message_of("0" * 40)):
        with pytest.raises(UsageError, match="not inside a git repository"):
            question()
    repo.init()
    assert repo.is_repository()
    assert repo.head() is None and repo.tracked_files(folder) == frozenset() and repo.recent_messages(5) == []


def test_tracked_files_are_committed_ones_relative_to_the_folder(scene: Scene):
    scene.write("notebooks/draft.py", NB.format(9))  # written, never committed
    assert scene.repo.tracked_files(scene.root) == frozenset(START)
    assert scene.repo.tracked_files(scene.root / "notebooks") == {"train.py", "other.py"}
    scene.person_commit({"notebooks/draft.py": NB.format(9)}, "add the draft")
    assert "draft.py" in scene.repo.tracked_files(scene.root / "notebooks")


def test_head_branch_messages_and_the_user(scene: Scene):
    repo = scene.repo
    start = repo.head()
    assert repo.is_repository() and repo.branch() == "main" and repo.root == scene.root
    first = scene.person_commit({"a.txt": "a\n"}, "first change")
    second = scene.person_commit({"b.txt": "b\n"}, "second change\n\nwith a body")
    assert repo.head() == second and repo.head() != first != start
    assert repo.message_of(first) == "first change"
    assert repo.message_of(second) == "second change\n\nwith a body"
    assert repo.recent_messages(2) == ["second change\n\nwith a body", "first change"]
    assert repo.recent_messages(10) == ["second change\n\nwith a body", "first change", "start"]
    assert repo.user_email() == "dev@example.com"
    with pytest.raises(ServiceError):
        repo.message_of("0" * 40)


def test_relpath_and_changed(scene: Scene, tmp_path):
    repo = scene.repo
    assert repo.relpath(scene.root / "notebooks" / "train.py") == "notebooks/train.py"
    with pytest.raises(InputError):
        repo.relpath(tmp_path / "elsewhere.py")
    with pytest.raises(InputError):
        repo.relpath(scene.root / ".git" / "config")
    same, other = NB.format(1).encode(), NB.format(2).encode()
    assert repo.changed({"notebooks/train.py": same}) == []
    assert repo.changed({"notebooks/train.py": other, "new.json": b"{}"}) == ["new.json", "notebooks/train.py"]


def test_commit_paths_takes_only_the_given_paths_as_the_bot(scene: Scene):
    repo = scene.repo
    base = repo.head()
    scene.write("README.md", "edited, not to be committed\n")
    scene.write("notebooks/train.py", NB.format(2))
    sha = repo.commit_paths(["notebooks/train.py"], "retrain [skip ci]")
    assert sha and repo.head() == sha and repo.branch() == "main"
    files = scene.files_at(sha)
    assert files["notebooks/train.py"] == NB.format(2) and files["README.md"] == "readme\n"
    assert scene.author_of(sha) == BOT[1] and repo.message_of(sha) == "retrain [skip ci]"
    assert scene.read("README.md") == "edited, not to be committed\n"  # the working tree is left alone
    assert repo.commit_paths(["notebooks/train.py"], "again") is None and repo.head() == sha
    assert repo.source_commit("[skip ci]") == base  # our own commit is skipped
    assert repo.source_commit("[other marker]") == sha


def test_commit_contents_moves_nothing_and_branches_are_set_only_from_where_they_were(scene: Scene):
    repo = scene.repo
    head = repo.head()
    assert repo.commit_contents({"notebooks/train.py": NB.format(1).encode()}, "same", head) is None
    sha = repo.commit_contents({"notebooks/train.py": NB.format(3).encode(), "runs/new.json": b"{}"}, "retrain", head)
    assert sha and repo.head() == head and scene.read("notebooks/train.py") == NB.format(1)
    assert scene.files_at(sha)["runs/new.json"] == "{}" and scene.files_at(sha)["README.md"] == "readme\n"
    assert repo.branch_tip("automation/retrain") is None
    repo.set_branch("automation/retrain", sha)
    assert repo.branch_tip("automation/retrain") == sha
    with pytest.raises(ServiceError):
        repo.set_branch("automation/retrain", head)  # it exists: only from where it was
    again = repo.commit_contents({"notebooks/train.py": NB.format(3).encode(), "runs/new.json": b"{}"}, "retrain",
                                 head)
    assert repo.same_change(sha, again)
    repo.set_branch("automation/retrain", head, old=sha)
    assert repo.branch_tip("automation/retrain") == head
    assert not repo.same_change(sha, head)


def test_push_fetch_and_a_moved_remote(scene: Scene):
    repo = scene.repo
    scene.write("notebooks/train.py", NB.format(2))
    mine = repo.commit_paths(["notebooks/train.py"], "retrain [skip ci]")
    assert repo.remote_url()
    assert repo.fetch("no/such/branch") is None
    moved = scene.someone_pushes({"docs.md": "someone else\n"}, "other work")
    refused = repo.push(mine, "main")
    assert isinstance(refused, PushResult) and not refused.ok and refused.kind == "non-fast-forward"
    assert refused.ref == "refs/heads/main" and scene.remote_tip("main") == moved
    tip = repo.fetch("main")
    assert tip == moved
    rebased = repo.rebase_paths(mine, tip, ["notebooks/train.py"])
    files = scene.files_at(rebased)
    assert files["notebooks/train.py"] == NB.format(2) and files["docs.md"] == "someone else\n"
    assert repo.message_of(rebased) == "retrain [skip ci]" and scene.author_of(rebased) == BOT[1]
    pushed = repo.push(rebased, "main")
    assert pushed.ok and pushed.kind == "ok" and scene.remote_tip("main") == rebased
    assert repo.push(rebased, "main").kind == "up-to-date"
    assert repo.advance_head(mine, rebased) and repo.head() == rebased
    assert scene.read("docs.md") == "someone else\n"
    assert repo.rebase_paths(rebased, rebased, ["notebooks/train.py"], overwrite=True) == rebased  # nothing to apply


def test_rebase_refuses_when_the_remote_changed_the_same_paths(scene: Scene):
    repo = scene.repo
    scene.someone_pushes({"notebooks/train.py": NB.format("'theirs'")}, "theirs")
    scene.write("notebooks/train.py", NB.format(3))
    mine = repo.commit_paths(["notebooks/train.py"], "mine")
    tip = repo.fetch("main")
    with pytest.raises(ConflictError, match="also changed notebooks/train.py"):
        repo.rebase_paths(mine, tip, ["notebooks/train.py"])
    forced = repo.rebase_paths(mine, tip, ["notebooks/train.py"], overwrite=True)
    assert scene.files_at(forced)["notebooks/train.py"] == NB.format(3)


def test_a_local_change_in_the_way_stops_advance_head(scene: Scene):
    repo = scene.repo
    scene.write("notebooks/train.py", NB.format(2))
    mine = repo.commit_paths(["notebooks/train.py"], "mine")
    scene.someone_pushes({"docs.md": "theirs\n"}, "theirs")
    rebased = repo.rebase_paths(mine, repo.fetch("main"), ["notebooks/train.py"])
    scene.write("docs.md", "my own draft\n")  # an untracked file where the new commit brings one
    assert not repo.advance_head(mine, rebased)
    assert repo.head() == mine and scene.read("docs.md") == "my own draft\n"


def test_a_protected_branch_is_refused_and_said_so(scene: Scene):
    repo = scene.repo
    scene.write("notebooks/train.py", NB.format(2))
    sha = repo.commit_paths(["notebooks/train.py"], "m")
    scene.protect("main")
    result = repo.push(sha, "main")
    assert not result.ok and result.kind == "protected" and "TF402455" in result.detail
    assert repo.push(sha, "automation/retrain").ok  # only main is protected


def test_committed_files_asks_the_repository_only_for_a_git_folder_target(scene: Scene, tmp_path):
    project = scene.root
    project.mkdir(parents=True, exist_ok=True)  # the fake's working tree is not on disk
    (project / "mlops.yaml").write_text(
        "project: shop\nmodel: {name: m}\ntargets:\n"
        "  git: {backend: databricks, host: 'http://127.0.0.1:1', repo_path: /Repos/ci/shop, branch: main}\n"
        "  ws: {backend: databricks, host: 'http://127.0.0.1:1', workspace_dir: /Shared/shop}\n")
    cfg = load_config(project / "mlops.yaml")
    assert committed_files(cfg, cfg.target("git"), scene.repo) == frozenset(START)
    assert committed_files(cfg, cfg.target("ws"), scene.repo) is None
    outside = scene.elsewhere(tmp_path / "copy")
    copy = SimpleNamespace(root=tmp_path / "copy")
    assert committed_files(copy, cfg.target("git"), outside) is None  # no repository: not checked
