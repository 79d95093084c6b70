"""Notebook files on disk: read with errors naming the file, written atomically, found under folders
as os.walk would, and the file a ``%run`` names."""

import os
from pathlib import Path

import pytest

from devops_mlops.core import notebook as nbm
from devops_mlops.errors import InputError
from devops_mlops.files import notebooks as nbfiles

pytestmark = pytest.mark.fast

LEAKY = ('{"cells": [{"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": '
         '[{"output_type": "stream", "name": "stdout", "text": ["x\\n"]}], "source": ["print(1)"]}], '
         '"metadata": {}, "nbformat": 4, "nbformat_minor": 5}')


def test_strip_outputs_then_write_replaces_the_file_atomically(tmp_path):
    path = tmp_path / "o.ipynb"
    path.write_text(LEAKY)
    nb = nbfiles.read(path)
    assert nbm.strip_outputs(nb)
    nbfiles.write(nb)
    again = nbfiles.read(path)
    assert again.cells[0].outputs == [] and again.cells[0].execution_count is None
    assert not nbm.strip_outputs(again)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.ipynb"]  # no temporary file left


def test_write_to_another_path_leaves_the_original(tmp_path):
    path = tmp_path / "o.ipynb"
    path.write_text(LEAKY)
    nb = nbfiles.read(path)
    nbm.strip_outputs(nb)
    nbfiles.write(nb, tmp_path / "clean.ipynb")
    assert path.read_text() == LEAKY
    assert nbfiles.read(tmp_path / "clean.ipynb").cells[0].outputs == []


def test_iter_notebook_files_as_os_walk_would(tmp_path):
    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "__pycache__").mkdir()
    for rel in ("z.py", "a/b.ipynb", "a/deep/c.sql", "a/notes.txt", ".hidden/h.py", "__pycache__/p.py", ".dot.py"):
        (tmp_path / rel).write_text("x\n")
    (tmp_path / "folder.py").mkdir()  # a folder with a notebook's name
    os.symlink(tmp_path / "z.py", tmp_path / "link.py")  # a linked file counts
    os.symlink(tmp_path / "missing.py", tmp_path / "broken.py")  # a broken link does not
    os.symlink(tmp_path / "a", tmp_path / "linked")  # a linked folder is not entered
    got = [p.relative_to(tmp_path).as_posix() for p in nbfiles.iter_notebook_files([tmp_path])]
    assert got == ["a/b.ipynb", "a/deep/c.sql", "link.py", "z.py"]
    assert [p.name for p in nbfiles.iter_notebook_files([tmp_path], exclude=["a/deep/*", "link.py"])] == [
        "b.ipynb", "z.py"]
    assert nbfiles.iter_notebook_files([tmp_path / "a" / "notes.txt"]) == [tmp_path / "a" / "notes.txt"]  # as given
    with pytest.raises(InputError, match="no such file or folder"):
        nbfiles.iter_notebook_files([tmp_path / "gone"])


def test_read_bytes_names_what_it_cannot_read(tmp_path):
    (tmp_path / "n.py").write_bytes(b"# Databricks notebook source\n" * 1000)
    assert nbfiles.read_bytes(tmp_path / "n.py") == b"# Databricks notebook source\n" * 1000
    (tmp_path / "empty.py").write_bytes(b"")
    assert nbfiles.read_bytes(tmp_path / "empty.py") == b""
    for path, message in ((tmp_path, "is a folder"), (tmp_path / "gone.py", "file not found")):
        with pytest.raises(InputError, match=message) as err:
            nbfiles.read_bytes(path)
        assert err.value.path == str(path)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "big.py"
    path.write_bytes(b"# Databricks notebook source\n" + b"x" * 100)
    monkeypatch.setattr("devops_mlops.core.notebook_model.MAX_BYTES", 50)
    with pytest.raises(InputError, match="larger than"):
        nbfiles.read(path)


def test_read_parses_what_it_reads(tmp_path):
    path = tmp_path / "n.sql"
    path.write_bytes(b"-- Databricks notebook source\nSELECT 1\n")
    nb = nbfiles.read(path)
    assert nb.path == path and nb.format == "source" and nb.language == "sql"


def test_run_resolver_answers_as_resolve_run_target(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "common.py").write_text("# Databricks notebook source\n")
    (tmp_path / "sub" / "local.ipynb").write_text("{}")
    monkeypatch.chdir(tmp_path)
    resolve = nbfiles.run_resolver(str(tmp_path))
    for rel in ("a.py", "sub/b.py", "sub/../c.py"):
        nb = nbm.Notebook(path=Path(rel), format="source", language="python", cells=[])
        for target in ("./common", "../common", "local", "./nowhere", "/abs/x"):
            assert resolve(nb, target) == nbfiles.resolve_run_target(tmp_path / rel, target), (rel, target)
    assert nbfiles.resolve_run_target(tmp_path / "a.py", "./common") == tmp_path / "common.py"
    assert nbfiles.resolve_run_target(tmp_path / "sub" / "b.py", "local") == tmp_path / "sub" / "local.ipynb"
    assert nbfiles.resolve_run_target(tmp_path / "a.py", "/Shared/x") is None
