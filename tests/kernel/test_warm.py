"""The kernel side of the pool, in real kernels: what survives a reset is frozen out of the garbage
collector's walks, and a notebook's own garbage (cycles included) is still collected by the reset."""

from __future__ import annotations

import textwrap
from pathlib import Path

from devops_mlops.kernel.pool import kernel_pool
from devops_mlops.kernel.runner import run_notebook


def _nb(path: Path, body: str) -> Path:
    path.write_text("# Databricks notebook source\n" + textwrap.dedent(body), encoding="utf-8")
    return path


def test_a_reset_collects_the_notebooks_cycles_and_freezes_what_survives(tmp_path):
    first = _nb(tmp_path / "first.py", """
        import gc, sys, weakref

        class Node:
            pass

        node = Node()
        node.me = node  # a cycle: only the collector frees it
        sys.mlops_probe = weakref.ref(node)
        print("frozen", gc.get_freeze_count() > 0)
        """)
    second = _nb(tmp_path / "second.py", """
        import gc, sys
        assert sys.mlops_probe() is None, "the cycle of the notebook before survived the reset"
        print("frozen", gc.get_freeze_count() > 0)
        """)
    with kernel_pool(preload=["json"]):
        a = run_notebook(first)
        b = run_notebook(second)
    assert (a.status, b.status) == ("passed", "passed"), (a.error, b.error)
    assert a.kernel_pid == b.kernel_pid
    assert "frozen True" in a.output and "frozen True" in b.output
