"""The workspace port's contract, over the local adapter and the Databricks adapter + emulator."""

import pytest

from devops_mlops.errors import ConflictError, MlopsError

NB = b"# Databricks notebook source\nprint(1)\n"
SQL = b"-- Databricks notebook source\nselect 1\n"
IPYNB = b'{"cells": [], "metadata": {"kernelspec": {"language": "python"}}, "nbformat": 4, "nbformat_minor": 5}'


@pytest.fixture(params=["local", "databricks"])
def ws(request, tmp_path, monkeypatch):
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
