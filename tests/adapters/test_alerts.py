"""Alerts over every configured channel: work item (real SDK vs emulator), Teams
(loopback receiver), pipeline (##vso lines), file (JSON lines)."""

from __future__ import annotations

import json

import pytest

from devops_mlops.adapters.alerts import adaptive_card
from devops_mlops.context import Context
from devops_mlops.ports.alerts import Alert
from devops_mlops.testing.azure_devops import AzureDevOpsEmulator
from devops_mlops.testing.webhook_receiver import WebhookReceiver

PAT = "alerts-pat-31337"


def _alert(title="Model m needs retraining"):
    return Alert(title=title, model_name="m", summary="rmse above 10 in 3 of 3 windows; 3 tries did not fix it",
                 metrics=[{"metric": "rmse", "value": 12.5, "threshold_max": 10, "status": "violation"}],
                 tries=[{"try": 1, "rmse": 12.1}, {"try": 2, "rmse": 11.9}], links={"pipeline run": "https://x.invalid/r/1"})


@pytest.fixture
def services():
    with AzureDevOpsEmulator(token=PAT) as emu, WebhookReceiver() as hook:
        emu.add_project("ml")
        yield emu, hook


def _ctx(tmp_path, alerts_yaml, backend="local", dry_run=False):
    targets = "targets: {local: {backend: local}}\n" if backend == "local" else (
        "targets: {prod: {backend: databricks, workspace_dir: /x, default: true}}\n")
    (tmp_path / "mlops.yaml").write_text(f"project: p\nmodel: {{name: m}}\n{targets}alerts:\n{alerts_yaml}")
    return Context.create(config_path=tmp_path / "mlops.yaml", dry_run=dry_run)


def test_every_channel_gets_the_alert_and_work_items_are_not_duplicated(tmp_path, services, monkeypatch, capsys):
    emu, hook = services
    monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", PAT)
    monkeypatch.setenv("TF_BUILD", "True")
    ctx = _ctx(tmp_path, f"""  - {{kind: azure-devops-work-item, organization_url: "{emu.org_url}", project: ml,
      area_path: "ml\\\\Models", tags: [retrain]}}
  - {{kind: teams, url: "{hook.url_for('wf', 'sig=secret-sig-1')}"}}
  - {{kind: pipeline}}
""")
    deliveries = ctx.alerts.send(_alert())
    assert [d.channel for d in deliveries] == ["file", "azure-devops-work-item", "teams", "pipeline"]
    assert all(d.ok for d in deliveries), deliveries
    [item] = emu.work_items.values()
    f = item["fields"]
    assert f["System.WorkItemType"] == "Bug" and f["System.AreaPath"] == "ml\\Models"
    assert [t.strip() for t in f["System.Tags"].split(";")] == ["mlops-model:m", "mlops", "retrain"]
    assert "<table>" in f["Microsoft.VSTS.TCM.ReproSteps"] and "12.5" in f["Microsoft.VSTS.TCM.ReproSteps"]
    assert f"#{item['id']}" in deliveries[1].detail
    card = hook.posts[0]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard" and card["content"]["body"][0]["text"] == "Model m needs retraining"
    out = capsys.readouterr().out
    assert "##vso[task.logissue type=warning]Model m needs retraining: rmse above 10" in out
    assert "##vso[build.addbuildtag]mlops-model-m" in out
    assert "secret-sig-1" not in " ".join(d.detail for d in deliveries)
    line = json.loads((tmp_path / ".mlops" / "alerts.jsonl").read_text().splitlines()[0])
    assert line["model_name"] == "m" and line["tries"][1]["rmse"] == 11.9

    # the same model again: the open item is updated, not duplicated
    again = ctx.alerts.send(_alert("Model m still needs retraining"))
    assert all(d.ok for d in again)
    assert len(emu.work_items) == 1 and item["fields"]["System.Title"] == "Model m still needs retraining"
    assert "updated work item" in again[1].detail and emu.comments[item["id"]]
    # once closed, a new alert opens a new item
    item["fields"]["System.State"] = "Closed"
    ctx.alerts.send(_alert())
    assert len(emu.work_items) == 2


def test_a_failing_channel_does_not_stop_the_others(tmp_path, services, monkeypatch):
    emu, hook = services
    monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", "wrong-pat-0000")
    hook.fail_next(500)
    ctx = _ctx(tmp_path, f"""  - {{kind: azure-devops-work-item, organization_url: "{emu.org_url}", project: ml}}
  - {{kind: teams, url: "{hook.url_for('wf')}"}}
  - {{kind: pipeline}}
  - {{kind: file, path: out/alerts.jsonl}}
""")
    ds = {d.channel: d for d in ctx.alerts.send(_alert())}
    assert not ds["azure-devops-work-item"].ok and "401" in ds["azure-devops-work-item"].detail
    assert not ds["teams"].ok and "500" in ds["teams"].detail
    assert not ds["pipeline"].ok and "TF_BUILD" in ds["pipeline"].detail
    assert ds["file"].ok and (tmp_path / "out" / "alerts.jsonl").exists()
    assert not (tmp_path / ".mlops" / "alerts.jsonl").exists()  # a configured file channel replaces the default


def test_work_item_channel_without_organization_or_token_fails_cleanly(tmp_path):
    ctx = _ctx(tmp_path, "  - {kind: azure-devops-work-item, type: Issue}\n", backend="databricks")
    [d] = ctx.alerts.send(_alert())
    assert d.channel == "azure-devops-work-item" and not d.ok and "SYSTEM_COLLECTIONURI" in d.detail


def test_bad_type_and_area_path_are_reported(tmp_path, services, monkeypatch):
    emu, _ = services
    monkeypatch.setenv("SYSTEM_ACCESSTOKEN", PAT)
    monkeypatch.setenv("SYSTEM_COLLECTIONURI", emu.org_url + "/")
    monkeypatch.setenv("SYSTEM_TEAMPROJECT", "ml")
    ctx = _ctx(tmp_path, "  - {kind: azure-devops-work-item, type: Defect}\n"
                         "  - {kind: azure-devops-work-item, area_path: 'other\\\\x'}\n", backend="databricks")
    d1, d2 = ctx.alerts.send(_alert())
    assert not d1.ok and "VS402323" in d1.detail
    assert not d2.ok and "TF401347" in d2.detail
    assert emu.work_items == {}
    assert any(r.headers.get("authorization") == f"Bearer {PAT}" for r in emu.requests)


def test_dry_run_sends_nothing(tmp_path, services):
    _, hook = services
    ctx = _ctx(tmp_path, f"  - {{kind: teams, url: '{hook.url_for()}'}}\n", dry_run=True)
    ds = ctx.alerts.send(_alert())
    assert all(d.ok and d.detail.startswith("dry run") for d in ds)
    assert hook.posts == [] and not (tmp_path / ".mlops" / "alerts.jsonl").exists()


def test_adaptive_card_shape():
    card = adaptive_card(_alert())["attachments"][0]["content"]
    assert card["version"] == "1.5" and card["actions"][0]["type"] == "Action.OpenUrl"
    table = next(b for b in card["body"] if b["type"] == "Table")
    assert len(table["rows"]) == 2 and table["rows"][0]["cells"][0]["items"][0]["text"] == "metric"
