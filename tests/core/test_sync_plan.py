from devops_mlops.core.sync_plan import LocalItem, RemoteItem, classify, plan_sync

import pytest

pytestmark = pytest.mark.fast


def item(rel, sha="s1"):
    return LocalItem(rel, f"notebooks/{rel}.py", "SOURCE", "PYTHON", sha)


def test_classify():
    assert classify("a/b.py", b"# Databricks notebook source\n") == ("a/b", "SOURCE", "PYTHON")
    assert classify("a/b.py", b"import os\n") == ("a/b.py", "RAW", None)
    assert classify("x.ipynb", b"{") == ("x", "JUPYTER", None)
    assert classify("q.sql", b"-- Databricks notebook source\n") == ("q", "SOURCE", "SQL")


def test_decisions():
    local = [item("new"), item("same"), item("changed", "s2"), item("edited"), item("foreign")]
    remote = {r: RemoteItem(r, "NOTEBOOK", 10) for r in ("same", "changed", "edited", "foreign", "old", "junk")}
    remote["edited"] = RemoteItem("edited", "NOTEBOOK", 11)
    manifest = {r: {"sha256": "s1", "modified_at": 10} for r in ("same", "changed", "edited", "old")}
    plan = plan_sync("/r", local, remote, set(), manifest)
    ops = {a.rel: a.op for a in plan.actions}
    assert ops == {"new": "create", "same": "unchanged", "changed": "update", "edited": "conflict",
                   "foreign": "conflict", "old": "stale", "junk": "unmanaged"}
    forced = {a.rel: a.op for a in plan_sync("/r", local, remote, set(), manifest, prune=True, force=True).actions}
    assert forced["edited"] == forced["foreign"] == "update"
    assert forced["old"] == forced["junk"] == "delete"
