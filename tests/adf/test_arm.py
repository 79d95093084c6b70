import json

from devops_mlops.adf.arm import template
from devops_mlops.adf.export import build_export
from devops_mlops.config import load_config

import pytest

pytestmark = pytest.mark.fast


def test_arm_template_shape(project):
    cfg = load_config(project / "mlops.yaml")
    exp = build_export(cfg, cfg.target("prod"))
    tpl, params = template(exp, factory="adf-tolls")
    assert set(tpl["parameters"]) == {"factoryName", "workspaceUrl", "workspaceResourceId"}
    assert tpl["parameters"]["workspaceUrl"]["defaultValue"] == "https://adb-1234567890123456.7.azuredatabricks.net"
    by_name = {r["name"]: r for r in tpl["resources"]}
    ls = by_name["[concat(parameters('factoryName'), '/databricks')]"]
    assert ls["type"] == "Microsoft.DataFactory/factories/linkedServices" and ls["apiVersion"] == "2018-06-01"
    assert ls["properties"]["typeProperties"]["domain"] == "[parameters('workspaceUrl')]"
    mon = by_name["[concat(parameters('factoryName'), '/monitor_model')]"]
    assert mon["type"] == "Microsoft.DataFactory/factories/pipelines"
    assert mon["dependsOn"] == ["[concat(variables('factoryId'), '/linkedServices/databricks')]",
                                "[concat(variables('factoryId'), '/pipelines/retrain_model')]"]
    trig = by_name["[concat(parameters('factoryName'), '/monitor_model_schedule')]"]
    assert trig["type"] == "Microsoft.DataFactory/factories/triggers"
    assert trig["dependsOn"] == ["[concat(variables('factoryId'), '/pipelines/monitor_model')]"]
    assert "runtimeState" not in trig["properties"]  # read-only
    # resources come after what they depend on
    order = [r["name"] for r in tpl["resources"]]
    assert order.index(ls["name"]) < order.index(mon["name"]) < order.index(trig["name"])
    assert params["parameters"]["factoryName"] == {"value": "adf-tolls"}
    # ADF's "[...]"-looking literal strings are escaped for ARM
    metrics = mon["properties"]["activities"][0]["typeProperties"]["baseParameters"]["metrics"]
    assert metrics.startswith("[[{") and json.loads(metrics[1:])


def test_secret_webhook_becomes_a_securestring_parameter(project, monkeypatch, edit_config):
    monkeypatch.setenv("TEAMS_HOOK", "https://example.invalid/secret-hook-4711")
    edit_config(project, "url: https://example.invalid/workflows/hook", "url: ${TEAMS_HOOK}")
    cfg = load_config(project / "mlops.yaml")
    tpl, params = template(build_export(cfg, cfg.target("prod")))
    assert tpl["parameters"]["teamsWebhookUrl"]["type"] == "securestring"
    assert "secret-hook-4711" not in json.dumps(tpl) + json.dumps(params)
    retrain = next(r for r in tpl["resources"] if r["name"].endswith("/retrain_model')]"))
    assert retrain["properties"]["parameters"]["teams_webhook_url"]["defaultValue"] == "[parameters('teamsWebhookUrl')]"
