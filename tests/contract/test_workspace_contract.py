"""The workspace port's contract, over the local adapter, the Databricks adapter + emulator and the
in-memory fake; Git folders over the Databricks adapter + emulator and the fake."""

import pytest

from devops_mlops.errors import ConflictError, MlopsError

NB = b"# Databricks notebook source\nprint(1)\n"
SQL = b"-- Databricks notebook source\nselect 1\n"
IPYNB = b'{"cells": [], "metadata": {"kernelspec": {"language": "python"}}, "nbformat": 4, "nbformat_minor": 5}'


@pytest.fixture(params=["local", "databricks", pytest.param("fake", marks=pytest.mark.fast)])
def ws(request, tmp_path, monkeypatch):
    if request.param == "fake":
        from devops_mlops.testing.fakes.workspace import FakeWorkspace

        yield FakeWorkspace()
        return
    if request.param == "local":
        from devops_mlops.adapters.local.workspace import LocalWorkspace

        (tmp_path / "ws").mkdir()
        yield LocalWorkspace(tmp_path / "ws")
        return
    from types import SimpleNamespace

    from devops_mlops.adapters.databricks.client import build_client
    from devops_mlops.adapters.databricks.workspace import DatabricksWorkspace
    from devops_mlops.testing.databricks_emulator import DatabricksEmulator

    with DatabricksEmulator(token="dapi-contract") as emu:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-contract")
        yield DatabricksWorkspace(build_client(SimpleNamespace(host=emu.url, profile=None, name="t")))


def test_import_list_export_roundtrip(ws):
    ws.mkdirs("/Shared/p/sub")
    ws.import_("/Shared/p/train", NB, format="SOURCE", language="PYTHON", overwrite=False)
    ws.import_("/Shared/p/sub/q", SQL, format="SOURCE", language="SQL", overwrite=False)
    ws.import_("/Shared/p/nb", IPYNB, format="JUPYTER", language=None, overwrite=False)
    ws.import_("/Shared/p/conf.yaml", b"a: 1\n", format="RAW", language=None, overwrite=False)
    listed = {o.path: o for o in ws.list("/Shared/p")}
    assert set(listed) == {"/Shared/p/train", "/Shared/p/sub", "/Shared/p/nb", "/Shared/p/conf.yaml"}
    assert listed["/Shared/p/train"].object_type == "NOTEBOOK"
    assert listed["/Shared/p/train"].language == "PYTHON"
    assert listed["/Shared/p/sub"].object_type == "DIRECTORY"
    assert listed["/Shared/p/conf.yaml"].object_type == "FILE"
    assert listed["/Shared/p/nb"].object_type == "NOTEBOOK"
    assert all(o.modified_at for o in listed.values() if o.object_type != "DIRECTORY")
    assert ws.get_status("/Shared/p/sub/q").language == "SQL"
    assert ws.export("/Shared/p/train", format="SOURCE") == NB
    assert ws.export("/Shared/p/conf.yaml", format="AUTO") == b"a: 1\n"


def test_missing_paths(ws):
    assert ws.list("/Shared/none") == []
    assert ws.get_status("/Shared/none") is None
    ws.delete("/Shared/none")  # deleting what is gone is fine (a retried delete)
    with pytest.raises(MlopsError):
        ws.export("/Shared/none", format="SOURCE")


def test_overwrite_rules_and_modified_time(ws):
    ws.mkdirs("/Shared/p")
    ws.import_("/Shared/p/train", NB, format="SOURCE", language="PYTHON", overwrite=False)
    before = ws.get_status("/Shared/p/train").modified_at
    with pytest.raises(ConflictError):
        ws.import_("/Shared/p/train", NB, format="SOURCE", language="PYTHON", overwrite=False)
    import time

    time.sleep(0.01)
    ws.import_("/Shared/p/train", NB + b"x = 2\n", format="SOURCE", language="PYTHON", overwrite=True)
    assert ws.get_status("/Shared/p/train").modified_at > before
    assert ws.export("/Shared/p/train", format="SOURCE").endswith(b"x = 2\n")


def test_import_needs_parent_and_language(ws):
    with pytest.raises(MlopsError):
        ws.import_("/Shared/nope/train", NB, format="SOURCE", language="PYTHON", overwrite=True)
    ws.mkdirs("/Shared/p")
    with pytest.raises(MlopsError):
        ws.import_("/Shared/p/train", NB, format="SOURCE", language=None, overwrite=True)


def test_delete_folder_needs_recursive(ws):
    ws.mkdirs("/Shared/p/sub")
    ws.import_("/Shared/p/sub/a", NB, format="SOURCE", language="PYTHON", overwrite=True)
    with pytest.raises(MlopsError):
        ws.delete("/Shared/p", recursive=False)
    ws.delete("/Shared/p/sub/a")
    assert ws.list("/Shared/p/sub") == []
    ws.delete("/Shared/p", recursive=True)
    assert ws.get_status("/Shared/p") is None


def test_mkdirs_is_idempotent(ws):
    ws.mkdirs("/Shared/a/b/c")
    ws.mkdirs("/Shared/a/b/c")
    assert ws.get_status("/Shared/a/b").object_type == "DIRECTORY"


@pytest.fixture(params=["databricks", pytest.param("fake", marks=pytest.mark.fast)])
def git_ws(request, monkeypatch):
    """(workspace with Git folders, set_head(url, ref, commit): where a pull of that ref lands)."""
    if request.param == "fake":
        from devops_mlops.testing.fakes.workspace import FakeWorkspace

        fake = FakeWorkspace()
        yield fake, lambda url, ref, commit: fake.git_heads.__setitem__((url, ref), commit)
        return
    from types import SimpleNamespace

    from devops_mlops.adapters.databricks.client import build_client
    from devops_mlops.adapters.databricks.workspace import DatabricksWorkspace
    from devops_mlops.testing.databricks_emulator import DatabricksEmulator

    with DatabricksEmulator(token="dapi-contract") as emu:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-contract")
        yield (DatabricksWorkspace(build_client(SimpleNamespace(host=emu.url, profile=None, name="t"))),
               lambda url, ref, commit: emu.git_heads.__setitem__((url, ref), commit))


URL = "https://dev.azure.com/org/proj/_git/demo"


def test_git_folder_create_pull_and_read_back(git_ws):
    ws, set_head = git_ws
    assert ws.find_repo("/Repos/ci/demo") is None
    created = ws.create_repo(URL, "azureDevOpsServices", "/Repos/ci/demo")
    assert (created.path, created.url) == ("/Repos/ci/demo", URL)
    assert ws.get_status("/Repos/ci/demo").object_type == "REPO"
    assert ws.create_repo(URL, "azureDevOpsServices", "/Repos/ci/demo").id == created.id  # a retried create
    set_head(URL, "main", "a" * 40)
    ws.update_repo(created.id, branch="main", path="/Repos/ci/demo")
    got = ws.get_repo(created.id)
    assert (got.branch, got.head_commit_id) == ("main", "a" * 40)
    assert ws.find_repo("/Repos/ci/demo").head_commit_id == "a" * 40


def test_git_folder_pull_of_an_unknown_branch_fails(git_ws):
    ws, _ = git_ws
    created = ws.create_repo(URL, "azureDevOpsServices", "/Repos/ci/demo")
    with pytest.raises(MlopsError, match="does not exist in the remote"):
        ws.update_repo(created.id, branch="nope", path="/Repos/ci/demo")
