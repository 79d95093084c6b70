"""The use cases that ask the local repository port, over the in-memory fake: `mlops init` makes a
repository only where there is none; a promotion records the commit it was made from."""

from __future__ import annotations

import pytest

from devops_mlops.ops.init import init_project
from devops_mlops.ops.model_promote import git_commit
from devops_mlops.testing.fakes.git import FakeRepository

pytestmark = pytest.mark.fast


def test_init_makes_a_repository_of_a_new_folder(tmp_path):
    repo = FakeRepository(tmp_path / "p", repository=False)
    result = init_project(tmp_path / "p", repository=repo)
    assert result.git_initialised and repo.is_repository()
    assert (tmp_path / "p" / "mlops.yaml").is_file()


def test_init_inside_a_repository_and_a_dry_run_leave_git_alone(tmp_path):
    inside = FakeRepository(tmp_path)
    assert not init_project(tmp_path / "p", repository=inside).git_initialised
    nowhere = FakeRepository(tmp_path / "q", repository=False)
    assert not init_project(tmp_path / "q", dry_run=True, repository=nowhere).git_initialised
    assert not nowhere.is_repository()


def test_the_commit_of_a_promotion(tmp_path, monkeypatch):
    monkeypatch.delenv("BUILD_SOURCEVERSION", raising=False)
    repo = FakeRepository(tmp_path)
    assert git_commit(repo) is None  # no commit yet
    head = repo.commit({"a.py": "x = 1\n"}, "start")
    assert git_commit(repo) == head
    assert git_commit(FakeRepository(tmp_path / "copy", repository=False)) is None  # not a repository
    monkeypatch.setenv("BUILD_SOURCEVERSION", "f" * 40)  # the pipeline's source version wins
    assert git_commit(repo) == "f" * 40
