"""The second process of `mlops lint` (ops/lint_worker.py) finds what this one would, and a
malformed file it reads still stops the run with nothing left running."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from devops_mlops.errors import InputError
from devops_mlops.ops import lint_worker
from devops_mlops.ops.lint import lint_paths

CORPUS = Path(__file__).parent.parent / "corpus" / "notebooks"
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the second process is a fork")


def tree(tmp_path: Path) -> Path:
    root = tmp_path / "nb"
    shutil.copytree(CORPUS / "good", root)
    for name in ("magic_mess.py", "no_header.py"):
        shutil.copy(CORPUS / "bad" / name, root / name)
    (root / "uses.py").write_text("# Databricks notebook source\n# MAGIC %run ./00_setup\n\n# COMMAND ----------\n\n"
                                  "print(table_name('x'), CATALOG, nowhere)\n")
    (root / "q.sql").write_text("-- Databricks notebook source\nSELECT 1\n")
    return root


def test_the_second_process_finds_the_same(tmp_path, monkeypatch):
    root = tree(tmp_path)
    here = lint_paths([root])
    monkeypatch.setattr(lint_worker, "MIN_PARALLEL", 1)
    forked = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forked.append(1) or real_fork())
    there = lint_paths([root])
    assert forked == [1]
    assert there.findings == here.findings and there.files == here.files
    assert ("F821", "uses.py") in {(f.code, Path(f.path).name) for f in there.findings}
    assert "nowhere" in " ".join(f.message for f in there.findings) and "table_name" not in " ".join(
        f.message for f in there.findings)


def test_a_malformed_file_read_there_stops_the_run(tmp_path, monkeypatch):
    root = tree(tmp_path)
    (root / "zz.py").write_text("-- Databricks notebook source\nSELECT 1\n")
    monkeypatch.setattr(lint_worker, "MIN_PARALLEL", 1)
    pids = forks(monkeypatch)
    with pytest.raises(InputError) as err:
        lint_paths([root])
    assert err.value.path.endswith("zz.py") and err.value.line == 1
    assert_reaped(pids)


def test_a_failure_here_first_stops_the_second_process(tmp_path, monkeypatch):
    root = tree(tmp_path)
    (root / "bad.ipynb").write_text(json.dumps({"cells": "no"}))  # read by this process
    monkeypatch.setattr(lint_worker, "MIN_PARALLEL", 1)
    pids = forks(monkeypatch)
    with pytest.raises(InputError) as err:
        lint_paths([root])
    assert err.value.path.endswith("bad.ipynb")
    assert_reaped(pids)


def forks(monkeypatch) -> list[int]:
    """The pids of the second processes lint starts (other tests' children are not ours to check)."""
    pids: list[int] = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    return pids


def assert_reaped(pids: list[int]) -> None:
    assert pids, "lint did not start its second process"
    for pid in pids:  # waited for already: nothing left running, no zombie
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


@pytest.mark.parametrize("when", ["before it sends anything", "between its two messages", "after it sent all"])
def test_a_second_process_that_dies_is_replaced_by_this_one(tmp_path, monkeypatch, when):
    import signal
    import time

    root = tree(tmp_path)
    for i in range(6):  # .ipynb files, so that the second process has modules to build
        (root / f"n{i}.ipynb").write_text(json.dumps({
            "nbformat": 4, "nbformat_minor": 5, "metadata": {},
            "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                       "source": f"import os\nvalue_{i} = missing_{i}\n"}]}))
    here = lint_paths([root])
    monkeypatch.setattr(lint_worker, "MIN_PARALLEL", 1)
    real_fork = os.fork
    killed = []
    parent = os.getpid()
    if when == "between its two messages":  # its modules are sent: it dies as it starts the checks
        real_checks = lint_worker.check_files

        def dying_checks(*args, **kwargs):
            if os.getpid() != parent:
                os.kill(os.getpid(), signal.SIGKILL)
            return real_checks(*args, **kwargs)

        monkeypatch.setattr(lint_worker, "check_files", dying_checks)

    def fork():
        pid = real_fork()
        if pid and when == "between its two messages":
            killed.append(pid)  # it kills itself
        elif pid:
            if when == "after it sent all":  # both messages are in the pipe by then, read after its death
                time.sleep(0.5)
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    there = lint_paths([root])
    assert killed and there.findings == here.findings and there.files == here.files
    undefined = " ".join(f.message for f in there.findings if f.code == "F821")
    assert all(f"`missing_{i}`" in undefined for i in range(6)), undefined
    assert_reaped(killed)


def test_fix_strips_the_outputs_of_the_notebooks_the_second_process_read(tmp_path, monkeypatch):
    root = tmp_path / "nb"
    root.mkdir()
    count = 2 * lint_worker.MIN_PARALLEL
    for n in range(count):
        doc = {"cells": [{"cell_type": "code", "execution_count": 3, "metadata": {},
                          "outputs": [{"output_type": "stream", "name": "stdout", "text": ["3\n"]}],
                          "source": [f"print({n})\n"]}],
               "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
        (root / f"n{n:03d}.ipynb").write_text(json.dumps(doc))
    monkeypatch.chdir(tmp_path)
    result = lint_paths([root], fix=True)
    assert result.ok and result.fixed == 2 * count  # MLO101 and MLO102 of each
    left = [p.name for p in sorted(root.iterdir())
            if json.loads(p.read_text())["cells"][0]["outputs"] or json.loads(p.read_text())["cells"][0]["execution_count"]]
    assert left == []
    assert lint_paths([root]).ok  # and nothing is found again
