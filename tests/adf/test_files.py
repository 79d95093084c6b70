import json

from devops_mlops.adf.files import export
from devops_mlops.context import Context
from devops_mlops.config import load_config

import pytest

pytestmark = pytest.mark.fast


def ctx_for(project, target="prod", dry_run=False):
    cfg = load_config(project / "mlops.yaml")
    return Context(cfg, cfg.target(target), dry_run=dry_run)


def test_writes_the_git_integration_layout(project):
    res = export(ctx_for(project), project / "out")
    out = project / "out"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json")) == [
        "arm/ARMTemplateForFactory.json", "arm/ARMTemplateParametersForFactory.json",
        "linkedService/databricks.json", "pipeline/inference.json", "pipeline/monitor_model.json",
        "pipeline/retrain_model.json", "pipeline/training.json", "trigger/monitor_model_schedule.json"]
    doc = json.loads((out / "pipeline" / "training.json").read_text())
    assert doc["name"] == "training" and doc["type"] == "Microsoft.DataFactory/factories/pipelines"
    assert doc["properties"]["activities"][0]["type"] == "DatabricksNotebook"
    ls = json.loads((out / "linkedService" / "databricks.json").read_text())
    assert ls["properties"]["type"] == "AzureDatabricks"
    assert not list(out.rglob("*.tmp"))
    assert len(res.files.written) == 8


def test_second_export_changes_nothing_and_stale_files_go(project):
    out = project / "out"
    export(ctx_for(project), out)
    (out / "pipeline" / "someone_elses.json").write_text('{"name": "someone_elses", "properties": {}}')
    again = export(ctx_for(project), out)
    assert again.files.written == [] and len(again.files.unchanged) == 8
    (project / "resources" / "inference.yml").unlink()
    third = export(ctx_for(project), out)
    assert third.files.deleted == ["pipeline/inference.json"]
    assert not (out / "pipeline" / "inference.json").exists()
    assert (out / "pipeline" / "someone_elses.json").exists()


def test_dry_run_writes_nothing(project):
    res = export(ctx_for(project, dry_run=True), project / "out")
    assert len(res.files.written) == 8 and not (project / "out").exists()


def test_a_failure_writes_nothing(project, edit_config):
    edit_config(project, "    - {name: r2, min: 0.6}\n", "")
    edit_config(project, "  metrics:\n    - {name: rmse, max: 12.5}\n", "")
    import pytest

    from devops_mlops.errors import ConfigError

    with pytest.raises(ConfigError):
        export(ctx_for(project), project / "out")
    assert not (project / "out").exists()
