"""Deploy with the real DataFactoryManagementClient against the loopback ARM emulator."""

from __future__ import annotations

import json

import pytest

from devops_mlops.adf.deploy import deploy
from devops_mlops.config import load_config
from devops_mlops.context import Context
from devops_mlops.errors import ConfigError, ServiceError
from devops_mlops.testing.arm_emulator import ArmDataFactoryEmulator
from devops_mlops.testing.http import Faults

SUB = "00000000-0000-0000-0000-000000000001"
FAST = {"retry_backoff_factor": 0.01, "retry_backoff_max": 0.05}


@pytest.fixture
def arm():
    with ArmDataFactoryEmulator() as emu:
        emu.add_factory(SUB, "rg-mlops", "adf-tolls")
        yield emu


def run(project, arm, *, target="prod", dry_run=False, credential=None):
    cfg = load_config(project / "mlops.yaml")
    t = cfg.target(target)
    t.adf.arm_endpoint = arm.url
    ctx = Context(cfg, t, dry_run=dry_run)
    return deploy(ctx, credential=credential or arm.credential(), client_kwargs=FAST)


def test_first_deploy_creates_and_starts_the_trigger(project, arm):
    res = run(project, arm)
    assert [(c.kind, c.action) for c in res.changes] == [
        ("linkedService", "create"), ("pipeline", "inference"[:0] or "create"), ("pipeline", "create"),
        ("pipeline", "create"), ("pipeline", "create"), ("trigger", "create")]
    assert set(arm.pipelines("adf-tolls")) == {"training", "inference", "retrain_model", "monitor_model"}
    # the real type names reached the service (the SDK models would have sent Execution/Container)
    retrain = arm.pipelines("adf-tolls")["retrain_model"]["properties"]
    assert retrain["activities"][0]["type"] == "Until"
    assert arm.linked_services("adf-tolls")["databricks"]["properties"]["type"] == "AzureDatabricks"
    assert arm.trigger_state("adf-tolls", "monitor_model_schedule") == "Started"
    # retrain is written before the monitoring pipeline that executes it
    puts = [r.path.rsplit("/", 1)[-1] for r in arm.requests_by_path("/pipelines/", "PUT")]
    assert puts.index("retrain_model") < puts.index("monitor_model")
    assert all(r.arg("api-version") == "2018-06-01" for r in arm.requests)
    assert all(r.headers["authorization"] == "Bearer arm-test-token" for r in arm.requests)


def test_second_deploy_writes_nothing(project, arm):
    run(project, arm)
    arm.reset_log()
    res = run(project, arm)
    assert {c.action for c in res.changes} == {"unchanged"} and res.writes == 0
    assert arm.writes() == []
    assert len(arm.requests_by_path("", "GET")) == 6


def test_a_change_rewrites_only_what_changed(project, arm, edit_config):
    run(project, arm)
    edit_config(project, "max_retrains: 3", "max_retrains: 5")
    arm.reset_log()
    res = run(project, arm)
    changed = {(c.kind, c.name) for c in res.changes if c.action == "update"}
    assert changed == {("pipeline", "retrain_model"), ("pipeline", "monitor_model")}
    assert [r.path.rsplit("/", 1)[-1] for r in arm.writes()] == ["retrain_model", "monitor_model"]
    assert arm.pipelines("adf-tolls")["retrain_model"]["properties"]["parameters"]["max_retrains"]["defaultValue"] == 5


def test_trigger_update_stops_then_starts(project, arm, edit_config):
    run(project, arm)
    edit_config(project, 'schedule: "30 6 * * 1-5"', 'schedule: "0 7 * * *"')
    arm.reset_log()
    res = run(project, arm)
    trig = next(c for c in res.changes if c.kind == "trigger")
    assert trig.action == "update" and trig.trigger == ["stop", "start"]
    assert [(r.method, r.path.split("/triggers/")[-1]) for r in arm.writes()] == [
        ("POST", "monitor_model_schedule/stop"), ("PUT", "monitor_model_schedule"), ("POST", "monitor_model_schedule/start")]
    rec = arm.triggers("adf-tolls")["monitor_model_schedule"]["properties"]["typeProperties"]["recurrence"]
    assert rec["frequency"] == "Day" and rec["schedule"]["hours"] == [7]
    assert arm.trigger_state("adf-tolls", "monitor_model_schedule") == "Started"


def test_dry_run_reads_only(project, arm):
    res = run(project, arm, dry_run=True)
    assert {c.action for c in res.changes} == {"create"}
    assert arm.writes() == [] and arm.pipelines("adf-tolls") == {}
    assert "dry run: nothing changed" in list(res.lines())[-3]


def test_transient_faults_converge(project, arm):
    arm.faults = Faults(script=["503", "throttle", "503"], methods=("GET", "PUT"))
    arm.faults.retry_after = 0
    run(project, arm)
    assert len(arm.faults_injected) == 3
    arm.reset_log()
    assert run(project, arm).writes == 0


def test_key_vault_linked_service_must_exist(project, arm, edit_config):
    edit_config(project, "    adf:\n      factory: adf-tolls\n",
                f"    adf:\n      subscription_id: {SUB}\n      resource_group: rg-mlops\n      factory: adf-tolls\n")
    with pytest.raises(ServiceError, match="linked service 'kv_tolls'"):
        run(project, arm, target="kv")
    arm.seed("adf-tolls", "linkedservices", "kv_tolls",
             {"type": "AzureKeyVault", "typeProperties": {"baseUrl": "https://kv-tolls.vault.azure.net/"}})
    res = run(project, arm, target="kv")
    assert {c.name for c in res.changes} >= {"mlops_databricks", "mlops_retrain_model"}
    token = arm.linked_services("adf-tolls")["mlops_databricks"]["properties"]["typeProperties"]["accessToken"]
    assert token["type"] == "AzureKeyVaultSecret"


def test_secret_webhook_is_deployed_but_never_printed(project, arm, edit_config, monkeypatch):
    monkeypatch.setenv("TEAMS_HOOK", "https://example.invalid/secret-hook-4711")
    edit_config(project, "url: https://example.invalid/workflows/hook", "url: ${TEAMS_HOOK}")
    res = run(project, arm)
    params = arm.pipelines("adf-tolls")["retrain_model"]["properties"]["parameters"]
    assert params["teams_webhook_url"]["defaultValue"] == "https://example.invalid/secret-hook-4711"
    assert "secret-hook" not in json.dumps(res.doc())


def test_wrong_credentials_and_missing_factory(project, arm):
    from devops_mlops.testing.arm_emulator import StaticCredential

    with pytest.raises(ServiceError, match="Azure authentication failed") as err:
        run(project, arm, credential=StaticCredential("wrong"))
    assert err.value.exit_code == 2
    arm.factories.clear()
    with pytest.raises(ServiceError, match="404 .*adf-tolls.* was not found") as err:
        run(project, arm)
    assert "adf.factory" in err.value.hint


def test_target_without_adf_settings(project, arm):
    with pytest.raises(ConfigError, match=r"targets\.kv\.adf: missing subscription_id, resource_group"):
        run(project, arm, target="kv")


def test_emulator_rejects_what_the_sdk_models_send(arm):
    """The emulator, like the service, refuses base-class names and wrong api-versions."""
    import urllib.request
    from urllib.error import HTTPError

    base = f"{arm.url}/subscriptions/{SUB}/resourceGroups/rg-mlops/providers/Microsoft.DataFactory/factories/adf-tolls"

    def put(path, body, version="2018-06-01"):
        req = urllib.request.Request(f"{base}/{path}?api-version={version}", json.dumps(body).encode(), method="PUT",
                                     headers={"Authorization": "Bearer arm-test-token", "Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req)
        except HTTPError as exc:
            return exc.code, json.loads(exc.read())
        return 200, None

    assert put("linkedservices/x", {"properties": {"typeProperties": {"domain": "d"}}})[0] == 400
    code, body = put("pipelines/p", {"properties": {"activities": [{"name": "a", "type": "Execution"}]}})
    assert code == 400 and "invalid type 'Execution'" in body["error"]["message"]
    code, body = put("pipelines/p", {"properties": {"activities": []}}, version="2017-09-01-preview")
    assert code == 400 and body["error"]["code"] == "InvalidApiVersionParameter"
