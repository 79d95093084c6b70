"""The pull-request threads port's contract (ports/pull_requests.py), run over the Azure Repos
adapter (the real azure-devops SDK against the emulator) and over the in-memory fake
(testing/fakes/pull_requests.py). Each harness makes a pull request from base and head files
and offers ``push(files)`` (the author pushing again) and ``deny()`` (no right to comment)."""

from __future__ import annotations

import pytest

from devops_mlops.errors import ServiceError
from devops_mlops.testing.fakes.pull_requests import FakePullRequest

PAT = "threads-contract-pat"
BASE = {"a.py": "1\n", "gone.py": "x\n"}
HEAD = {"a.py": "2\n", "new.py": "n\n"}


class EmulatorHarness:
    def __init__(self) -> None:
        from devops_mlops.adapters.azure.connection import AzureDevOps, resolve
        from devops_mlops.adapters.azure.pull_request import PullRequest
        from devops_mlops.testing.azure_devops import AzureDevOpsEmulator

        self.emu = AzureDevOpsEmulator(token=PAT).start()
        self.emu.add_project("ml")
        repo = self.emu.add_repository("ml", "models")
        self.pr_id = self.emu.add_pull_request("ml", "models", base=BASE, head=HEAD)["pullRequestId"]
        target = resolve(organization_url=self.emu.org_url, project="ml", repository="models",
                         env={"AZURE_DEVOPS_EXT_PAT": PAT})
        self.pr = PullRequest(AzureDevOps(target, backoff=0.01), repo["id"], self.pr_id)

    def push(self, files: dict[str, str]) -> None:
        self.emu.push_iteration(self.pr_id, files)

    def deny(self) -> None:
        self.emu.deny(r"/threads", method="POST", message="TF401027: You need the Git 'PullRequestContribute' permission to perform "
                                           "this action.", type_key="GitNeedsPermissionException")

    def close(self) -> None:
        self.emu.stop()


class FakeHarness:
    def __init__(self) -> None:
        self.pr = FakePullRequest(BASE, HEAD)

    def push(self, files: dict[str, str]) -> None:
        self.pr.push(files)

    def deny(self) -> None:
        self.pr.deny("TF401027")

    def close(self) -> None:
        pass


@pytest.fixture(params=["emulator", pytest.param("fake", marks=pytest.mark.fast)])
def harness(request):
    h = EmulatorHarness() if request.param == "emulator" else FakeHarness()
    yield h
    h.close()


def test_iterations_changed_files_and_file_text(harness):
    pr = harness.pr
    first = pr.last_iteration()
    assert first is not None and first.id == 1 and first.base_commit != first.head_commit
    assert pr.changed_files(first.id) == {"/a.py": "edit", "/gone.py": "delete", "/new.py": "add"}
    assert pr.file_text("/a.py", first.base_commit) == "1\n"
    assert pr.file_text("/new.py", first.base_commit) is None
    assert pr.file_text("/new.py", first.head_commit) == "n\n"
    harness.push({"a.py": "3\n"})
    second = pr.last_iteration()
    assert second.id == 2 and second.base_commit == first.base_commit
    assert pr.file_text("/a.py", second.head_commit) == "3\n"
    assert pr.changed_files(2) == {"/a.py": "edit", "/gone.py": "delete"}


def test_threads_are_created_listed_and_updated(harness):
    pr = harness.pr
    assert pr.threads() == []
    finding = pr.create("lint:finding:1", "**F401** x", "active", "/a.py", 1)
    summary = pr.create("lint:summary", "all good", "closed")
    listed = {t.key: t for t in pr.threads()}
    assert set(listed) == {"lint:finding:1", "lint:summary"}
    assert listed["lint:summary"].status == "closed" and listed["lint:summary"].content == "all good"
    assert listed["lint:finding:1"].id == finding and listed["lint:finding:1"].comment_id is not None
    pr.set_status(finding, "fixed")
    pr.set_content(summary, listed["lint:summary"].comment_id, "two findings")
    again = {t.key: t for t in pr.threads()}
    assert again["lint:finding:1"].status == "fixed" and again["lint:summary"].content == "two findings"
    with pytest.raises(ServiceError):
        pr.set_status(finding, "not-a-status")


def test_without_the_right_to_comment_writes_fail_with_its_code(harness):
    harness.deny()
    with pytest.raises(ServiceError) as err:
        harness.pr.create("lint:summary", "x", "active")
    assert err.value.code == "TF401027"
    assert harness.pr.threads() == []
