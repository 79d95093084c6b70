from devops_mlops.adapters.local.workspace import LocalWorkspace

import pytest

pytestmark = pytest.mark.fast

NB = b"# Databricks notebook source\nprint(1)\n"


def test_paths_map_like_the_workspace(tmp_path):
    ws = LocalWorkspace(tmp_path)
    ws.mkdirs("/a")
    ws.import_("/a/train", NB, format="SOURCE", language="PYTHON", overwrite=True)
    ws.import_("/a/helper.py", b"import os\n", format="RAW", language=None, overwrite=True)
    assert (tmp_path / "a" / "train.py").read_bytes() == NB
    assert {o.path: o.object_type for o in ws.list("/a")} == {"/a/train": "NOTEBOOK", "/a/helper.py": "FILE"}
    ws.import_("/a/train", b"-- Databricks notebook source\nselect 1\n", format="SOURCE", language="SQL",
               overwrite=True)
    assert not (tmp_path / "a" / "train.py").exists() and ws.get_status("/a/train").language == "SQL"
    ws.import_("/a/auto.py", NB, format="AUTO", language=None, overwrite=True)
    assert ws.get_status("/a/auto").object_type == "NOTEBOOK"
