from devops_mlops.core.pr_feedback import (
    Thread,
    Wanted,
    cell_diff,
    changed_lines,
    finding_key,
    key_of,
    reconcile,
    scope_line,
)

import pytest

pytestmark = pytest.mark.fast


def test_changed_lines_of_an_edit_and_a_new_file():
    assert changed_lines("a\nb\nc\n", "a\nB\nc\nd\n") == {2, 4}
    assert changed_lines(None, "x\ny\n") == {1, 2}
    assert changed_lines("a\nb\n", "a\nb\n") == set()


def test_cell_diff_sees_sources_only():
    assert cell_diff(["a = 1"], ["a = 1"], "n.ipynb") == ["**n.ipynb**: no source change (outputs or metadata only)"]
    lines = cell_diff(["a = 1", "b = 2", "c = 3"], ["a = 1", "b = 20", "c = 3", "d = 4"], "n.py")
    assert lines[0] == "**n.py**" and "- cell 2 changed" in lines and "- cell 4 added" in lines
    assert "  -b = 2" in lines and "  +b = 20" in lines
    assert cell_diff(["a", "b"], ["a"], "n.py") == ["**n.py**", "- cell 2 removed"]
    assert cell_diff(None, ["a", "b"], "n.py") == ["**n.py**: new notebook, 2 cell(s)"]


def test_key_from_properties_either_shape_or_the_marker():
    assert key_of({"mlops.feedback": {"$type": "System.String", "$value": "lint:summary"}}, "") == "lint:summary"
    assert key_of({"mlops.feedback": {"type": "System.String", "value": "test:summary"}}, "") == "test:summary"
    assert key_of({}, "text\n<!-- mlops:deploy:summary -->") == "deploy:summary"
    assert key_of(None, "a comment by a person") is None
    assert finding_key("/a.py", "F401", "m", "  import os ") == finding_key("/a.py", "F401", "m", "import os")


def test_reconcile_creates_updates_closes_and_respects_reviewers():
    fixed_key, kept_key, gone_key, other_file = (f"lint:finding:{n}" for n in "abcd")
    existing = [
        Thread(1, "active", "lint:summary", 1, "old summary"),
        Thread(2, "active", kept_key, 1, scope_line("/a.py")),
        Thread(3, "active", gone_key, 1, scope_line("/a.py")),
        Thread(4, "active", other_file, 1, scope_line("/not-linted.py")),
        Thread(5, "fixed", fixed_key, 1, scope_line("/a.py")),
        Thread(6, "wontFix", "lint:finding:e", 1, scope_line("/a.py")),
        Thread(7, "active", None, 1, "a person's comment"),
    ]
    wanted = [Wanted("lint:summary", "new summary"), Wanted(kept_key, "k", path="/a.py", line=3),
              Wanted(fixed_key, "f", path="/a.py", line=9), Wanted("lint:finding:e", "e", path="/a.py", line=1),
              Wanted("lint:finding:new", "n", path="/a.py", line=4)]
    plan = reconcile(existing, wanted, command="lint", scopes={"/a.py"})
    ops = sorted((a.op, a.thread.id if a.thread else a.wanted.key) for a in plan.actions)
    assert ops == [("close", 3), ("create", "lint:finding:new"), ("reopen", 5), ("update", 1)]
    same = reconcile([Thread(1, "active", "lint:summary", 1, "s")], [Wanted("lint:summary", "s")],
                     command="lint", scopes=set())
    assert same.actions == []
