"""mlops sync over the Databricks adapter + emulator (workspace and Git folder modes) and the local backend."""

import pytest

from devops_mlops.config import load_config
from devops_mlops.context import Context
from devops_mlops.errors import CheckFailed, ServiceError
from devops_mlops.ops.sync import sync
from devops_mlops.testing.databricks_emulator import DatabricksEmulator, sample_project
from devops_mlops.testing.http import Faults


@pytest.fixture
def emu(monkeypatch):
    with DatabricksEmulator(token="dapi-sync") as e:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-sync")
        yield e


def ctx_for(tmp_path, emu, target="dev", dry_run=False, **kw):
    cfg = load_config(sample_project(tmp_path, host=emu.url if emu else None, **kw))
    return Context(cfg, cfg.target(target), dry_run=dry_run)


def test_first_sync_then_nothing_then_one_change(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu, notebooks=6, folders=3)
    (tmp_path / "notebooks" / "readme.md").write_text("# hi\n")
    result = sync(ctx)
    assert result.plan.counts() == {"create": 8}  # 6 notebooks, readme.md, and mlops.yaml at the root
    assert emu.files["/Shared/demo/mlops.yaml"] == (tmp_path / "mlops.yaml").read_bytes()
    assert emu.files["/Shared/demo/f1/nb1"].startswith(b"# Databricks notebook source")
    assert emu.objects["/Shared/demo/f1/nb1"].language == "PYTHON"
    assert emu.objects["/Shared/demo/readme.md"].object_type == "FILE"
    emu.reset_log()
    assert sync(ctx).plan.counts() == {"unchanged": 8}
    assert emu.writes() == []
    # reads: one list per folder (root + 3) and the manifest
    assert len(emu.api_requests()) == 1 + 4
    (tmp_path / "notebooks" / "f0" / "nb3.py").write_text("# Databricks notebook source\nprint('new')\n")
    emu.reset_log()
    assert sync(ctx).plan.counts() == {"update": 1, "unchanged": 7}
    notebook_imports = [r for r in emu.imports() if not r.json["path"].endswith(".mlops-sync.json")]
    assert [r.json["path"] for r in notebook_imports] == ["/Shared/demo/f0/nb3"]


def test_dry_run_changes_nothing(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu, dry_run=True)
    result = sync(ctx)
    assert result.plan.counts() == {"create": 4}
    assert emu.writes() == []


def test_workspace_edit_is_a_conflict_until_force(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu)
    sync(ctx)
    emu.edit("/Shared/demo/nb1", b"# Databricks notebook source\nprint('hotfix')\n")
    result = sync(ctx)
    assert [a.rel for a in result.conflicts] == ["nb1"]
    assert emu.files["/Shared/demo/nb1"].endswith(b"hotfix')\n")  # not overwritten
    assert sync(ctx).conflicts  # still reported
    result = sync(ctx, force=True)
    assert result.plan.counts()["update"] == 1
    assert emu.files["/Shared/demo/nb1"] == (tmp_path / "notebooks" / "nb1.py").read_bytes()
    assert not sync(ctx).conflicts


def test_prune_deletes_only_what_we_synced(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu, notebooks=4, folders=2)
    sync(ctx)
    with emu.lock:  # an object mlops never put there
        emu._mk("/Shared/demo/f0/manual", "NOTEBOOK", language="PYTHON", content=b"x")
    (tmp_path / "notebooks" / "f1" / "nb1.py").unlink()
    (tmp_path / "notebooks" / "f1" / "nb3.py").unlink()
    assert sync(ctx).plan.counts()["stale"] == 2  # without --prune: reported only
    result = sync(ctx, prune=True)
    assert [(a.op, a.rel) for a in result.plan.of("delete")] == [("delete", "f1")]
    assert "/Shared/demo/f1" not in emu.folders
    assert "/Shared/demo/f0/manual" in emu.files  # unmanaged: kept


def test_existing_identical_content_is_adopted(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu)
    with emu.lock:
        emu._mkdirs("/Shared/demo")
        emu._mk("/Shared/demo/nb0", "NOTEBOOK", language="PYTHON",
                content=(tmp_path / "notebooks" / "nb0.py").read_bytes())
    result = sync(ctx)
    assert result.plan.counts() == {"create": 3, "unchanged": 1}


def test_sync_converges_under_faults(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu, notebooks=8, folders=2)
    emu.faults = Faults(script=["throttle", "503", "reset", "lost", "500"], retry_after=0)
    try:
        sync(ctx)
    except ServiceError:
        pass  # a 500 may exhaust nothing, but a second run must finish the job
    result = sync(ctx)
    assert not result.errors
    assert len([p for p in emu.files if not p.endswith((".json", ".yaml"))]) == 8
    emu.reset_log()
    assert sync(ctx).plan.counts() == {"unchanged": 9}
    assert emu.writes() == []


def test_local_backend_syncs_into_mlops_folder(tmp_path):
    ctx = ctx_for(tmp_path, None, target="local", notebooks=3, folders=2)
    assert sync(ctx).plan.counts() == {"create": 3}
    root = tmp_path / ".mlops" / "workspace" / "local"
    assert (root / "f1" / "nb1.py").read_text().startswith("# Databricks notebook source")
    assert sync(ctx).plan.counts() == {"unchanged": 3}
    (root / "f1" / "nb1.py").write_text("# Databricks notebook source\nprint('edited')\n")
    import os
    import time

    os.utime(root / "f1" / "nb1.py", (time.time() + 5, time.time() + 5))
    assert [a.rel for a in sync(ctx).conflicts] == ["f1/nb1"]


# ------------------------------------------------------------------ Git folder mode
def test_git_folder_create_pull_and_check_commit(tmp_path, emu, monkeypatch):
    url = "https://dev.azure.com/org/proj/_git/demo"
    emu.git_heads[(url, "main")] = "a" * 40
    ctx = ctx_for(tmp_path, emu, target="prod")
    monkeypatch.setenv("BUILD_SOURCEVERSION", "a" * 40)
    result = sync(ctx)
    assert result.git["action"] == "create"
    repo = next(iter(emu.repos.values()))
    assert repo["path"] == "/Repos/ci/demo" and repo["provider"] == "azureDevOpsServices"
    assert emu.requests_by_path(r"/api/2.0/repos/\d+$", "PATCH")[0].json == {"branch": "main"}
    assert sync(ctx).git["action"] == "update"


def _git(root, *args):
    import subprocess

    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x",
           "HOME": str(root), "PATH": "/usr/bin:/bin:/usr/local/bin"}
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def test_a_git_folder_linked_to_a_repository_holds_only_what_its_branch_has(tmp_path, emu):
    url = "https://dev.azure.com/org/proj/_git/demo"
    project = tmp_path / "project"
    project.mkdir()
    ctx = ctx_for(project, emu, target="prod")
    (project / ".gitignore").write_text("dist/\n")
    (project / "dist").mkdir()
    (project / "dist" / "demo-0.1-py3-none-any.whl").write_bytes(b"PK built here")
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "first")
    (project / "notebooks" / "nb0.py").write_text("# Databricks notebook source\nprint('not committed')\n")
    (project / "notebooks" / "draft.py").write_text("# Databricks notebook source\nprint('untracked')\n")
    emu.link_git(url, project)
    head = _git(project, "rev-parse", "HEAD")
    assert sync(ctx, commit=head).git["action"] == "create"
    files = emu.files
    assert b"print('not committed')" not in files["/Repos/ci/demo/notebooks/nb0"]  # the committed version
    assert emu.objects["/Repos/ci/demo/notebooks/nb0"].object_type == "NOTEBOOK"
    assert files["/Repos/ci/demo/mlops.yaml"] == (project / "mlops.yaml").read_bytes()
    assert "/Repos/ci/demo/notebooks/draft" not in files
    assert not any(p.startswith("/Repos/ci/demo/dist") for p in files)  # ignored: never in the Git folder

    _git(project, "add", "notebooks/draft.py")
    _git(project, "commit", "-qm", "draft")
    again = sync(ctx, commit=_git(project, "rev-parse", "HEAD"))
    assert again.git["action"] == "update" and "/Repos/ci/demo/notebooks/draft" in emu.files


def test_git_folder_head_mismatch_is_exit_1_with_both_shas(tmp_path, emu):
    url = "https://dev.azure.com/org/proj/_git/demo"
    emu.git_heads[(url, "main")] = "b" * 40
    ctx = ctx_for(tmp_path, emu, target="prod")
    with pytest.raises(CheckFailed) as exc:
        sync(ctx, commit="c" * 40)
    assert "b" * 40 in exc.value.message and "c" * 40 in exc.value.message


def test_git_folder_dirty_and_missing_credentials(tmp_path, emu):
    url = "https://dev.azure.com/org/proj/_git/demo"
    emu.git_heads[(url, "main")] = "a" * 40
    rid = emu.add_repo("/Repos/ci/demo", url)
    emu.dirty_repos.add(rid)
    ctx = ctx_for(tmp_path, emu, target="prod")
    with pytest.raises(ServiceError) as exc:
        sync(ctx)
    assert "uncommitted changes" in exc.value.message and "discard" in exc.value.hint
    emu.dirty_repos.clear()
    emu.git_credentials = False
    with pytest.raises(ServiceError) as exc:
        sync(ctx)
    assert "Git credential" in exc.value.message and "git-credentials" in exc.value.hint


def test_git_folder_dry_run(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu, target="prod", dry_run=True)
    assert sync(ctx).git["action"] == "create"
    assert emu.writes() == []
