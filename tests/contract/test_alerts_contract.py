"""The alerts port's contract, run over every channel of the adapter (ChannelAlerts): the file
channel (local), Teams (loopback webhook receiver) and Azure DevOps work items (real SDK against
the emulator), and over the in-memory fake (testing/fakes/alerts.py). Each: one Delivery per
send, ok with a detail saying where it went; a second alert for the same model is recorded (no
crash, no duplicate work item); a failure is a Delivery with ok=False, not an exception."""

from __future__ import annotations

import json

import pytest

from devops_mlops.adapters.alerts import ChannelAlerts, FileChannel, TeamsChannel, WorkItemChannel
from devops_mlops.config import AlertCfg, AzureDevOpsCfg
from devops_mlops.ports.alerts import Alert
from devops_mlops.testing.azure_devops import AzureDevOpsEmulator
from devops_mlops.testing.fakes.alerts import FakeAlerts
from devops_mlops.testing.webhook_receiver import WebhookReceiver

PAT = "contract-pat-4242"


def _alert(n=1):
    return Alert(title=f"Model m needs retraining ({n})", model_name="m", summary="rmse out of range after 3 tries",
                 metrics=[{"metric": "rmse", "value": 12.5, "max": 10}], tries=[{"try": 1, "rmse": 12.1}],
                 links={"run": "https://example.invalid/run/1"})


class FileHarness:
    def __init__(self, tmp_path):
        self.path = tmp_path / ".mlops" / "alerts.jsonl"
        self.channel = FileChannel(self.path)
        self.alerts, self.name = ChannelAlerts([self.channel]), self.channel.name

    def recorded(self):
        return [json.loads(l) for l in self.path.read_text().splitlines()] if self.path.exists() else []

    def break_it(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.mkdir(exist_ok=True) if not self.path.exists() else None
        self.path.unlink() if self.path.is_file() else None
        self.path.mkdir(exist_ok=True)

    def close(self):
        pass


class TeamsHarness:
    def __init__(self, tmp_path):
        self.hook = WebhookReceiver().start()
        self.channel = TeamsChannel(self.hook.url_for("workflows/x"))
        self.alerts, self.name = ChannelAlerts([self.channel]), self.channel.name

    def recorded(self):
        return self.hook.posts

    def break_it(self):
        self.hook.status = 500

    def close(self):
        self.hook.stop()


class WorkItemHarness:
    def __init__(self, tmp_path, monkeypatch):
        self.emu = AzureDevOpsEmulator(token=PAT).start()
        self.emu.add_project("ml")
        monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", PAT)
        scm = AzureDevOpsCfg(organization_url=self.emu.org_url, project="ml")
        self.channel = WorkItemChannel(AlertCfg(kind="azure-devops-work-item"), scm, backoff=0.01)
        self.alerts, self.name = ChannelAlerts([self.channel]), self.channel.name

    def recorded(self):
        return [c for wid in self.emu.work_items for c in [self.emu.work_items[wid]]]

    def break_it(self):
        self.emu.deny(r"/_apis/wit/")

    def close(self):
        self.emu.stop()


class FakeHarness:
    def __init__(self):
        self.alerts, self.name = FakeAlerts(), "fake"

    def recorded(self):
        return self.alerts.sent

    def break_it(self):
        self.alerts.fail("fake", "the fake channel is down")

    def close(self):
        pass


@pytest.fixture(params=["file", "teams", "work-item", pytest.param("fake", marks=pytest.mark.fast)])
def harness(request, tmp_path, monkeypatch):
    h = {"file": lambda: FileHarness(tmp_path), "teams": lambda: TeamsHarness(tmp_path),
         "work-item": lambda: WorkItemHarness(tmp_path, monkeypatch), "fake": FakeHarness}[request.param]()
    yield h
    h.close()


def test_send_delivers_once_with_a_detail(harness):
    [d] = harness.alerts.send(_alert())
    assert d.ok, d.detail
    assert d.channel == harness.name and d.detail
    assert len(harness.recorded()) == 1


def test_second_alert_for_the_same_model_is_recorded_without_duplicating(harness):
    alerts = harness.alerts
    assert all(d.ok for d in alerts.send(_alert(1)))
    assert all(d.ok for d in alerts.send(_alert(2)))
    # file and teams keep a record per alert; the work item channel keeps one open item per model
    expected = 1 if isinstance(harness, WorkItemHarness) else 2
    assert len(harness.recorded()) == expected


def test_a_failure_is_a_delivery_not_an_exception(harness):
    harness.break_it()
    [d] = harness.alerts.send(_alert())
    assert d.ok is False and d.detail
    assert PAT not in d.detail and "sig=" not in d.detail
