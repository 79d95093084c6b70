"""The emulator's pull-request review API answers the real azure-devops SDK in the documented shapes."""

from __future__ import annotations

import pytest

from devops_mlops.adapters.azure.connection import AzureDevOps, resolve
from devops_mlops.adapters.azure.pull_request import PullRequest
from devops_mlops.errors import ServiceError
from devops_mlops.testing.azure_devops import AzureDevOpsEmulator

PAT = "emu-pat-review-1"


@pytest.fixture
def setup():
    with AzureDevOpsEmulator(token=PAT) as emu:
        emu.add_project("ml")
        repo = emu.add_repository("ml", "models")
        pr = emu.add_pull_request("ml", "models", base={"a.py": "1\n", "gone.py": "x\n"},
                                  head={"a.py": "2\n", "new.py": "n\n"})
        target = resolve(organization_url=emu.org_url, project="ml", repository="models",
                         env={"AZURE_DEVOPS_EXT_PAT": PAT})
        yield emu, PullRequest(AzureDevOps(target, backoff=0.01), repo["id"], pr["pullRequestId"])


def test_iterations_changes_and_items(setup):
    emu, pr = setup
    it = pr.last_iteration()
    assert it.id == 1 and it.base_commit != it.head_commit
    assert pr.changed_files(it.id) == {"/a.py": "edit", "/gone.py": "delete", "/new.py": "add"}
    assert pr.file_text("/a.py", it.base_commit) == "1\n"
    assert pr.file_text("/new.py", it.base_commit) is None
    emu.push_iteration(pr.id, {"a.py": "3\n"})
    second = pr.last_iteration()
    assert second.id == 2 and pr.file_text("/a.py", second.head_commit) == "3\n"
    assert pr.changed_files(2) == {"/a.py": "edit", "/gone.py": "delete"}


def test_threads_create_list_update(setup):
    emu, pr = setup
    tid = pr.create("lint:finding:1", "**F401** x", "active", "/a.py", 1)
    summary = pr.create("lint:summary", "all good", "closed")
    listed = {t.key: t for t in pr.threads()}
    assert set(listed) == {"lint:finding:1", "lint:summary"} and listed["lint:summary"].status == "closed"
    raw = emu.threads[pr.id][0]
    assert raw["threadContext"] == {"filePath": "/a.py", "rightFileStart": {"line": 1, "offset": 1},
                                    "rightFileEnd": {"line": 1, "offset": 1}}
    assert raw["properties"]["mlops.feedback"] == {"$type": "System.String", "$value": "lint:finding:1"}
    pr.set_status(tid, "fixed")
    pr.set_content(summary, listed["lint:summary"].comment_id, "two findings")
    again = {t.key: t for t in pr.threads()}
    assert again["lint:finding:1"].status == "fixed" and again["lint:summary"].content == "two findings"
    with pytest.raises(ServiceError):
        pr.set_status(tid, "not-a-status")
    emu.deny(r"/threads", method="POST")
    with pytest.raises(ServiceError) as exc:
        pr.create("k", "c", "active")
    assert exc.value.code == "403"
