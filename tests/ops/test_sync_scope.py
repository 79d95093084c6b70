"""mlops sync PATH...: a partial sync over the emulator and the local backend."""

import pytest

from devops_mlops.config import load_config
from devops_mlops.context import Context
from devops_mlops.errors import InputError, UsageError
from devops_mlops.ops.sync import sync
from devops_mlops.ops.sync_scope import sync_scope
from devops_mlops.testing.databricks_emulator import DatabricksEmulator, sample_project


@pytest.fixture
def emu(monkeypatch):
    with DatabricksEmulator(token="dapi-scope") as e:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-scope")
        yield e


def ctx_for(tmp_path, emu, target, **kw):
    cfg = load_config(sample_project(tmp_path, host=emu.url if emu else None, **kw))
    return Context(cfg, cfg.target(target))


def test_scope_of_paths(tmp_path, monkeypatch):
    cfg = load_config(sample_project(tmp_path, notebooks=4, folders=2))
    monkeypatch.chdir(tmp_path)
    nb = tmp_path / "notebooks"
    (nb / "f1" / "conf.yaml").write_text("a: 1\n")
    assert sync_scope(cfg, []) is None
    assert sync_scope(cfg, [nb]) is None
    assert sync_scope(cfg, [nb / "f0", nb / "f1" / "nb1.py", nb / "f1" / "conf.yaml"]) == \
        ["f0", "f1/conf.yaml", "f1/nb1"]
    with pytest.raises(InputError) as exc:
        sync_scope(cfg, [tmp_path / "resources" / "jobs.yml"])
    assert "not inside the notebooks folder" in exc.value.message
    with pytest.raises(InputError):
        sync_scope(cfg, [nb / "missing.py"])


@pytest.mark.parametrize("backend", ["emulator", "local"])
def test_partial_sync_leaves_the_rest_alone(tmp_path, request, backend):
    emu = request.getfixturevalue("emu") if backend == "emulator" else None
    ctx = ctx_for(tmp_path, emu, "dev" if emu else "local", notebooks=6, folders=3)
    nb = tmp_path / "notebooks"
    assert sync(ctx, scope=["f1"]).plan.counts() == {"create": 2}
    first = sync(ctx)
    # a Databricks workspace also gets mlops.yaml at the sync root (the runtime reads it there)
    assert first.plan.counts() == {"unchanged": 2, "create": 5 if emu else 4}
    if emu:
        assert "/Shared/demo/mlops.yaml" in emu.files
    # change one notebook in each of f0 and f1, delete one of f2; sync f1 + prune
    (nb / "f0" / "nb0.py").write_text("# Databricks notebook source\nprint('f0 changed')\n")
    (nb / "f1" / "nb1.py").write_text("# Databricks notebook source\nprint('f1 changed')\n")
    (nb / "f2" / "nb2.py").unlink()
    part = sync(ctx, scope=["f1"], prune=True)
    assert {(a.rel, a.op) for a in part.plan.actions} == {("f1/nb1", "update"), ("f1/nb4", "unchanged")}
    assert part.to_json()["scope"] == ["f1"]
    if emu:
        assert b"f0 changed" not in emu.files["/Shared/demo/f0/nb0"]
        assert b"f1 changed" in emu.files["/Shared/demo/f1/nb1"]
        assert "/Shared/demo/f2/nb2" in emu.files
    else:
        root = tmp_path / ".mlops" / "workspace" / "local"
        assert "f0 changed" not in (root / "f0" / "nb0.py").read_text()
        assert "f1 changed" in (root / "f1" / "nb1.py").read_text()
        assert (root / "f2" / "nb2.py").exists()
    # the manifest still knows the objects outside the scope: the rest syncs as it should
    rest = sync(ctx, prune=True)
    assert {(a.rel, a.op) for a in rest.plan.actions if a.op != "unchanged"} == {
        ("f0/nb0", "update"), ("f2/nb2", "delete")}


def test_partial_sync_of_a_git_folder_target_is_a_usage_error(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu, "prod")
    with pytest.raises(UsageError):
        sync(ctx, scope=["nb0"])
    assert emu.writes() == []
