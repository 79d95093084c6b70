"""The feedback of lint and test on a pull request, over the in-memory pull request: which threads
are created, kept, updated and closed, and a refusal that is one warning (the same use case runs
through the CLI against the emulator in test_pr_feedback.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from devops_mlops.console import Console
from devops_mlops.ops import pr_feedback
from devops_mlops.testing.fakes.pull_requests import FakePullRequest

pytestmark = pytest.mark.fast

HEADER = "# Databricks notebook source\n"
SEP = "\n# COMMAND ----------\n\n"
BASE = HEADER + "import sys\n" + SEP + "print('hello')\n"
HEAD = BASE + SEP + "import os\nprint('new cell')\n"
NEW_LINE = HEAD.splitlines().index("import os") + 1
SYS = SimpleNamespace(path="notebooks/a.py", line=2, code="F401", message="`sys` imported but unused")
OS = SimpleNamespace(path="notebooks/a.py", line=NEW_LINE, code="F401", message="`os` imported but unused")


def _doc(findings):
    return {"files": 1, "summary": {"files_with_findings": 1 if findings else 0},
            "findings": [vars(f) for f in findings]}


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "a.py").write_text(HEAD)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TF_BUILD", raising=False)
    monkeypatch.setenv("BUILD_SOURCESDIRECTORY", str(tmp_path))
    monkeypatch.setenv("SYSTEM_PULLREQUEST_PULLREQUESTID", "1")
    return tmp_path


def _lint(pr, findings):
    return pr_feedback.report(Console("text", False), "lint", _doc(findings), findings=findings,
                              files=["notebooks/a.py"], open_threads=lambda _config: pr)


def test_lint_threads_follow_the_findings_on_changed_lines(checkout):
    pr = FakePullRequest({"notebooks/a.py": BASE}, {"notebooks/a.py": HEAD})
    done = _lint(pr, [SYS, OS])
    assert (done["created"], done["updated"], done["closed"]) == (2, 0, 0)
    threads = pr.threads_by_key()
    [finding] = [t for k, t in threads.items() if k.startswith("lint:finding:")]
    assert pr.anchors[finding.id] == ("/notebooks/a.py", NEW_LINE)  # `import sys` is on an unchanged line
    summary = threads["lint:summary"]
    assert summary.status == "active" and "2 finding(s)" in summary.content and "cell 3 added" in summary.content

    writes = list(pr.writes)
    assert _lint(pr, [SYS, OS])["created"] == 0 and pr.writes == writes  # the same run again: nothing written

    fixed = HEAD.replace("import os\n", "")
    (checkout / "notebooks" / "a.py").write_text(fixed)
    pr.push({"notebooks/a.py": fixed})
    done = _lint(pr, [SYS])
    assert (done["created"], done["updated"], done["closed"]) == (0, 1, 1)
    after = pr.threads_by_key()
    assert after[finding.key].status == "fixed" and after["lint:summary"].id == summary.id
    assert "1 finding(s)" in after["lint:summary"].content


def test_a_passing_test_run_closes_its_summary(checkout):
    pr = FakePullRequest({}, {})
    doc = {"notebooks": [{"path": "notebooks/test_ok.py", "status": "passed", "duration": 0.5}], "passed": 1,
           "duration": 0.5}
    pr_feedback.report(Console("text", False), "test", doc, open_threads=lambda _config: pr)
    summary = pr.threads_by_key()["test:summary"]
    assert summary.status == "closed" and "1 passed" in summary.content


def test_no_right_to_comment_is_one_warning(checkout, capsys, monkeypatch):
    monkeypatch.setenv("SYSTEM_TEAMPROJECT", "ml")
    monkeypatch.setenv("SYSTEM_COLLECTIONURI", "https://dev.azure.com/contoso/")
    pr = FakePullRequest({"notebooks/a.py": BASE}, {"notebooks/a.py": HEAD})
    pr.deny("TF401027")
    done = _lint(pr, [SYS, OS])
    assert done["created"] == 0 and pr.threads() == []
    [warning] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert "no feedback on pull request 1" in warning and "'ml Build Service (contoso)'" in warning
