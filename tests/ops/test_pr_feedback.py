"""Pull-request feedback of lint, test and deploy --dry-run: the real CLI and the real azure-devops SDK
against the Azure DevOps emulator, in a simulated pull-request build."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from devops_mlops.testing.azure_devops import AzureDevOpsEmulator
from devops_mlops.testing.databricks_emulator import sample_project

TOKEN = "pr-build-token-9876"
HEADER = "# Databricks notebook source\n"
SEP = "\n# COMMAND ----------\n\n"
BASE_A = HEADER + "import sys\n" + SEP + "print('hello')\n"
#: the pull request adds a cell whose first line imports something unused (F401 on a changed line)
HEAD_A = BASE_A + SEP + "import os\nprint('new cell')\n"
NEW_LINE = HEAD_A.splitlines().index("import os") + 1


def _ipynb(*sources, outputs=False):
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{n}", "metadata": {},
              "outputs": [{"output_type": "stream", "name": "stdout", "text": ["x\n"]}] if outputs else [],
              "source": src} for n, src in enumerate(sources)]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


@pytest.fixture
def emu():
    with AzureDevOpsEmulator(token=TOKEN) as e:
        e.add_project("ml")
        e.add_repository("ml", "models", default_branch="main")
        yield e


def _checkout(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _env(emu, pr, root):
    repo = next(iter(emu.repositories.values()))
    return {"TF_BUILD": "True", "SYSTEM_PULLREQUEST_PULLREQUESTID": str(pr["pullRequestId"]),
            "SYSTEM_COLLECTIONURI": emu.org_url + "/", "SYSTEM_TEAMPROJECT": "ml", "BUILD_REPOSITORY_ID": repo["id"],
            "BUILD_REPOSITORY_NAME": "models", "SYSTEM_ACCESSTOKEN": TOKEN, "BUILD_SOURCESDIRECTORY": str(root),
            "AGENT_TEMPDIRECTORY": str(root / "_agent_tmp")}


def mlops(*args, cwd, env):
    return subprocess.run([sys.executable, "-m", "devops_mlops", *args], cwd=cwd, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def _ours(emu, pr):
    return {t["properties"]["mlops.feedback"]["$value"]: t for t in emu.threads[pr["pullRequestId"]]}


def test_lint_posts_summary_and_anchored_findings_updated_in_place(tmp_path, emu):
    base = {"notebooks/a.py": BASE_A, "notebooks/b.ipynb": _ipynb("x = 1\n")}
    head = {"notebooks/a.py": HEAD_A, "notebooks/b.ipynb": _ipynb("x = 2\n", "y = x\n", outputs=True)}
    _checkout(tmp_path, head)
    pr = emu.add_pull_request("ml", "models", base=base, head=head)
    env = _env(emu, pr, tmp_path)

    first = mlops("lint", "notebooks", cwd=tmp_path, env=env)
    assert first.returncode == 1, first.stderr
    threads = _ours(emu, pr)
    assert set(threads) == {"lint:summary"} | {k for k in threads if k.startswith("lint:finding:")}
    findings = [t for k, t in threads.items() if k.startswith("lint:finding:")]
    assert len(findings) == 1  # `import sys` sits on an unchanged line: no thread for it
    ctx = findings[0]["threadContext"]
    assert ctx["filePath"] == "/notebooks/a.py"
    assert ctx["rightFileStart"]["line"] == ctx["rightFileEnd"]["line"] == NEW_LINE
    assert "F401" in findings[0]["comments"][0]["content"] and findings[0]["status"] == "active"
    summary = threads["lint:summary"]
    text = summary["comments"][0]["content"]
    assert summary["status"] == "active" and "finding(s)" in text and "`notebooks/a.py:2`" in text
    assert "**notebooks/b.ipynb**" in text and "cell 1 changed" in text and "cell 2 added" in text
    assert "**notebooks/a.py**" in text and "cell 3 added" in text
    uploaded = [line for line in first.stdout.splitlines() if line.startswith("##vso[task.uploadsummary]")]
    assert len(uploaded) == 1
    md = open(uploaded[0].split("]", 1)[1], encoding="utf-8").read()
    assert md.startswith("### mlops lint:") and "Changed notebooks" in md
    assert TOKEN not in first.stdout + first.stderr + md

    # a second run of the same commit: the same two threads, nothing written
    emu.reset_log()
    again = mlops("lint", "notebooks", cwd=tmp_path, env=env)
    assert again.returncode == 1
    assert len(emu.threads[pr["pullRequestId"]]) == 2
    assert not emu.requests_by_path(r"/threads", "POST") and not emu.requests_by_path(r"/threads", "PATCH")

    # the author fixes the new finding and pushes: the summary is updated in place, the finding closed
    fixed = {**head, "notebooks/a.py": HEAD_A.replace("import os\n", "")}
    _checkout(tmp_path, fixed)
    emu.push_iteration(pr["pullRequestId"], fixed)
    emu.reset_log()
    third = mlops("lint", "notebooks", cwd=tmp_path, env=env)
    assert third.returncode == 1  # `import sys` is still there
    after = _ours(emu, pr)
    assert set(after) == set(threads) and len(emu.threads[pr["pullRequestId"]]) == 2
    assert after["lint:summary"]["id"] == summary["id"]
    assert after["lint:summary"]["comments"][0]["content"] != text
    assert [t["status"] for k, t in after.items() if k.startswith("lint:finding:")] == ["fixed"]
    assert not emu.requests_by_path(r"/threads$", "POST")


def test_missing_permission_is_one_warning_and_the_exit_code_is_unchanged(tmp_path, emu):
    head = {"notebooks/a.py": HEAD_A}
    _checkout(tmp_path, head)
    pr = emu.add_pull_request("ml", "models", base={"notebooks/a.py": BASE_A}, head=head)
    env = _env(emu, pr, tmp_path)
    emu.deny(r"/threads", message="TF401027: You need the Git 'PullRequestContribute' permission to perform "
                                  "this action.", type_key="GitNeedsPermissionException")
    res = mlops("lint", "notebooks", cwd=tmp_path, env=env)
    assert res.returncode == 1  # the lint findings, as without feedback
    warnings = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "TF401027" in warnings[0] and "ml Build Service (contoso)" in warnings[0]
    assert len([line for line in res.stdout.splitlines() if line.startswith("##vso[task.logissue type=warning")]) == 1
    assert "Traceback" not in res.stderr and emu.threads[pr["pullRequestId"]] == []
    clean = mlops("lint", "notebooks", "--ignore", "F401", cwd=tmp_path, env=env)
    assert clean.returncode == 0, clean.stderr  # a green lint stays green


def test_deploy_dry_run_and_test_keep_one_summary_thread_each(tmp_path, emu):
    sample_project(tmp_path, notebooks=2)
    (tmp_path / "notebooks" / "test_ok.py").write_text(HEADER + "assert 1 + 1 == 2\n")
    files = {p.relative_to(tmp_path).as_posix(): p.read_text() for p in (tmp_path / "notebooks").glob("*.py")}
    pr = emu.add_pull_request("ml", "models", base={}, head=files)
    env = _env(emu, pr, tmp_path)
    for _ in range(2):
        dep = mlops("--dry-run", "deploy", cwd=tmp_path, env=env)
        assert dep.returncode == 0, dep.stderr
        tst = mlops("test", cwd=tmp_path, env=env)
        assert tst.returncode == 0, tst.stderr
    threads = _ours(emu, pr)
    assert set(threads) == {"deploy:summary", "test:summary"} and len(emu.threads[pr["pullRequestId"]]) == 2
    plan = threads["deploy:summary"]["comments"][0]["content"]
    assert "mlops deploy plan on local: 1 create" in plan and "**create** `job0`" in plan
    assert threads["deploy:summary"]["status"] == "active"
    assert "1 passed" in threads["test:summary"]["comments"][0]["content"]
    assert threads["test:summary"]["status"] == "closed"
