from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from devops_mlops.adf.export import build_export
from devops_mlops.adf.validate import validate, walk
from devops_mlops.config import load_config
from devops_mlops.errors import ConfigError, InputError

SDK_MODELS = None


def sdk_discriminators() -> set[str]:
    """The real type names, read from azure-mgmt-datafactory's own models."""
    import azure.mgmt.datafactory.models._models as m

    return set(re.findall(r'discriminator="([A-Za-z]+)"', Path(m.__file__).read_text()))


def export(project, target="prod", **kw):
    cfg = load_config(project / "mlops.yaml")
    return cfg, build_export(cfg, cfg.target(target), **kw)


@pytest.mark.fast
def test_real_type_names_everywhere(project):
    _, exp = export(project)
    real = sdk_discriminators()
    types = set()
    for doc in exp.resources["pipeline"].values():
        types |= {a["type"] for _, a, _ in walk(doc["properties"]["activities"])}
    assert {"DatabricksNotebook", "IfCondition", "ExecutePipeline", "Until", "SetVariable", "WebActivity"} <= types
    assert types <= real
    assert exp.resources["linkedService"]["databricks"]["properties"]["type"] == "AzureDatabricks"
    assert exp.resources["trigger"]["monitor_model_schedule"]["properties"]["type"] == "ScheduleTrigger"
    text = json.dumps(exp.resources)
    for base in ("Execution", "Container", "MultiplePipelineTrigger"):
        assert f'"type": "{base}"' not in text
    assert validate(exp.resources) == []


@pytest.mark.fast
def test_job_pipeline_mirrors_tasks(project):
    _, exp = export(project)
    p = exp.resources["pipeline"]["training"]["properties"]
    acts = {a["name"]: a for a in p["activities"]}
    assert [a["name"] for a in p["activities"]] == ["prep", "features", "train", "validate", "promote"]
    assert acts["features"]["dependsOn"] == [{"activity": "prep", "dependencyConditions": ["Succeeded"]}]
    assert acts["prep"]["dependsOn"] == []
    # notebook paths where sync put them (workspace mode: under workspace_dir, from the notebooks folder)
    assert acts["prep"]["typeProperties"]["notebookPath"] == "/Shared/tolls/prep"
    assert acts["prep"]["linkedServiceName"] == {"referenceName": "databricks", "type": "LinkedServiceReference"}
    assert p["parameters"] == {"catalog": {"type": "String", "defaultValue": "prod"},
                               "run_date": {"type": "String", "defaultValue": ""}}
    bp = acts["features"]["typeProperties"]["baseParameters"]
    assert bp["catalog"] == "@pipeline().parameters.catalog"
    assert bp["day"] == "@pipeline().parameters.run_date"
    assert bp["run"] == "@pipeline().RunId"
    assert bp["note"] == "@@home"  # a literal '@' is escaped, not evaluated
    assert acts["prep"]["typeProperties"]["baseParameters"]["stage"] == "prep"
    assert acts["train"]["policy"]["retry"] == 1 and acts["train"]["policy"]["timeout"] == "0.01:00:00"


def test_git_folder_target_and_key_vault_token(project):
    _, exp = export(project, "kv")
    ls = exp.resources["linkedService"]["mlops_databricks"]["properties"]
    assert ls["typeProperties"]["accessToken"] == {
        "type": "AzureKeyVaultSecret",
        "store": {"referenceName": "kv_tolls", "type": "LinkedServiceReference"},
        "secretName": "databricks-token"}
    assert ls["typeProperties"]["existingClusterId"] == "0101-000000-abcdefgh"
    assert exp.external_linked_services == {"kv_tolls"}
    act = exp.resources["pipeline"]["mlops_training"]["properties"]["activities"][0]
    assert act["typeProperties"]["notebookPath"] == "/Repos/ci/tolls/notebooks/prep"
    assert validate(exp.resources, external_linked_services={"kv_tolls"}) == []


@pytest.mark.fast
def test_managed_identity_linked_service(project):
    _, exp = export(project)
    tp = exp.resources["linkedService"]["databricks"]["properties"]["typeProperties"]
    assert tp["authentication"] == "MSI" and tp["workspaceResourceId"].endswith("/workspaces/dbw-tolls")
    assert tp["domain"] == "https://adb-1234567890123456.7.azuredatabricks.net"
    assert tp["newClusterVersion"] == "15.4.x-scala2.12" and tp["newClusterNumOfWorker"] == "2"
    assert "accessToken" not in tp


@pytest.mark.fast
def test_monitoring_pipeline_checks_then_calls_retrain(project):
    _, exp = export(project)
    acts = exp.resources["pipeline"]["monitor_model"]["properties"]["activities"]
    check, branch = acts
    assert check["type"] == "DatabricksNotebook" and check["typeProperties"]["notebookPath"] == "/Shared/tolls/monitor"
    assert json.loads(check["typeProperties"]["baseParameters"]["metrics"]) == [
        {"name": "rmse", "max": 12.5}, {"name": "r2", "min": 0.6}]
    assert branch["type"] == "IfCondition"
    assert "activity('check').output.runOutput" in branch["typeProperties"]["expression"]["value"]
    [call] = branch["typeProperties"]["ifTrueActivities"]
    assert call["type"] == "ExecutePipeline"
    assert call["typeProperties"]["pipeline"]["referenceName"] == "retrain_model"
    assert call["typeProperties"]["waitOnCompletion"] is True


@pytest.mark.fast
def test_retrain_loop_is_bounded_and_uses_a_temp_variable(project):
    _, exp = export(project)
    p = exp.resources["pipeline"]["retrain_model"]["properties"]
    loop, decide = p["activities"]
    assert loop["type"] == "Until"
    assert "pipeline().parameters.max_retrains" in loop["typeProperties"]["expression"]["value"]
    assert "variables('improved')" in loop["typeProperties"]["expression"]["value"]
    assert p["parameters"]["max_retrains"]["defaultValue"] == 3
    sets = [a for a in loop["typeProperties"]["activities"] if a["type"] == "SetVariable"]
    by_var = {a["typeProperties"]["variableName"]: a for a in sets}
    assert "variables('tries')" in by_var["tries_next"]["typeProperties"]["value"]["value"]
    assert by_var["tries"]["typeProperties"]["value"]["value"] == "@variables('tries_next')"
    names = [a["name"] for a in loop["typeProperties"]["activities"]]
    assert names.index("retrain") < names.index("recheck")
    assert decide["type"] == "IfCondition" and decide["dependsOn"][0]["activity"] == "retrain_loop"
    true_names = [a["name"] for a in decide["typeProperties"]["ifTrueActivities"]]
    assert true_names == ["promote", "score"]  # register/commit not configured: warned
    false = decide["typeProperties"]["ifFalseActivities"]
    assert [a["type"] for a in false] == ["WebActivity", "Fail"]
    assert false[0]["typeProperties"]["url"] == "https://example.invalid/workflows/hook"
    assert any("register" in w for w in exp.warnings)


@pytest.mark.fast
def test_improvement_notebooks_from_config(project, edit_config):
    edit_config(project, "  retrain_notebook: notebooks/retrain.py\n",
                "  retrain_notebook: notebooks/retrain.py\n  register_notebook: notebooks/register.py\n"
                "  commit_notebook: notebooks/commit_back\n  warn_only: true\n")
    _, exp = export(project)
    decide = exp.resources["pipeline"]["retrain_model"]["properties"]["activities"][1]
    steps = decide["typeProperties"]["ifTrueActivities"]
    assert [a["name"] for a in steps] == ["register", "promote", "commit", "score"]
    assert steps[1]["dependsOn"][0]["activity"] == "register"
    assert [a["type"] for a in decide["typeProperties"]["ifFalseActivities"]] == ["WebActivity"]  # warn_only: no Fail


@pytest.mark.fast
def test_teams_url_from_env_stays_out_of_the_files(project, monkeypatch, edit_config):
    monkeypatch.setenv("TEAMS_HOOK", "https://example.invalid/secret-hook-4711")
    edit_config(project, "url: https://example.invalid/workflows/hook", "url: ${TEAMS_HOOK}")
    _, exp = export(project)
    assert "secret-hook-4711" not in json.dumps(exp.resources)
    web = exp.resources["pipeline"]["retrain_model"]["properties"]["activities"][1]["typeProperties"]["ifFalseActivities"][0]
    assert web["typeProperties"]["url"]["value"] == "@pipeline().parameters.teams_webhook_url"
    assert exp.resources["pipeline"]["retrain_model"]["properties"]["parameters"]["teams_webhook_url"] == {"type": "SecureString"}
    assert validate(exp.resources) == []


@pytest.mark.fast
def test_zero_retrains_goes_straight_to_the_alert(project, edit_config):
    edit_config(project, "max_retrains: 3", "max_retrains: 0")
    _, exp = export(project)
    acts = exp.resources["pipeline"]["retrain_model"]["properties"]["activities"]
    assert [a["type"] for a in acts] == ["WebActivity", "Fail"]
    assert validate(exp.resources) == []


@pytest.mark.fast
def test_monitoring_without_thresholds_is_exit_2(project, edit_config):
    edit_config(project, "  metrics:\n    - {name: rmse, max: 12.5}\n    - {name: r2, min: 0.6}\n", "")
    with pytest.raises(ConfigError, match=r"monitoring\.metrics: no thresholds") as err:
        export(project)
    assert err.value.exit_code == 2
    _, exp = export(project, monitoring=False)  # the job pipelines alone are fine
    assert set(exp.resources["pipeline"]) == {"training", "inference"}


@pytest.mark.fast
def test_missing_monitoring_notebooks(project, edit_config):
    edit_config(project, "  check_notebook: notebooks/monitor\n", "")
    with pytest.raises(ConfigError, match=r"monitoring\.check_notebook: missing"):
        export(project)
    edit_config(project, "retrain_notebook: notebooks/retrain.py", "retrain_notebook: notebooks/nope.py\n  check_notebook: notebooks/monitor")
    with pytest.raises(InputError, match=r"monitoring\.retrain_notebook: no notebook 'notebooks/nope.py'"):
        export(project)


@pytest.mark.fast
def test_job_notebook_not_found_or_not_synced(project):
    jobs = project / "resources" / "inference.yml"
    jobs.write_text(jobs.read_text().replace("notebooks/batch_inference.py", "notebooks/missing.py"))
    with pytest.raises(ConfigError, match="no notebook 'notebooks/missing.py'") as err:
        export(project)
    assert err.value.exit_code == 2
    jobs.write_text(jobs.read_text().replace("{notebook_path: notebooks/missing.py}",
                                             "{notebook_path: notebooks/x, source: GIT}"))
    with pytest.raises(InputError, match="inference.tasks.score: notebook 'notebooks/x' is not synced"):
        export(project)


@pytest.mark.fast
def test_non_notebook_task_is_refused(project):
    (project / "resources" / "inference.yml").write_text(
        "resources:\n  jobs:\n    inference:\n      tasks:\n        - task_key: whl\n"
        "          python_wheel_task: {package_name: x, entry_point: y}\n")
    with pytest.raises(InputError, match="tasks.whl: a python_wheel_task"):
        export(project)


@pytest.mark.fast
def test_target_requirements(project, edit_config):
    with pytest.raises(ConfigError, match="backend 'local'"):
        export(project, "local")
    edit_config(project, "      workspace_resource_id: /subscriptions", "      x_workspace_resource_id: /subscriptions")
    with pytest.raises(ConfigError, match="unknown"):
        load_config(project / "mlops.yaml")


@pytest.mark.fast
def test_target_without_auth_or_cluster(project, edit_config):
    edit_config(project, "      workspace_resource_id: /sub", "      #workspace_resource_id: /sub")
    with pytest.raises(ConfigError, match=r"targets\.prod\.adf\.workspace_resource_id: missing.*never a literal token"):
        export(project)
    edit_config(project, "      #workspace_resource_id: /sub", "      workspace_resource_id: /sub")
    edit_config(project, "    compute:\n      new_cluster:\n        spark_version: 15.4.x-scala2.12\n"
                "        node_type_id: Standard_DS3_v2\n        num_workers: 2\n", "    compute: {serverless: true}\n")
    with pytest.raises(ConfigError, match=r"adf\.existing_cluster_id: missing.*serverless"):
        export(project)
