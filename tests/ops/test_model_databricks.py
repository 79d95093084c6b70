"""`mlops model status|validate|promote|rollback` on a Databricks target whose model lives in Unity
Catalog, through the CLI, against the emulated workspace (its MLflow APIs answer the real client).
The target's host reaches mlflow from mlops.yaml (no DATABRICKS_HOST exported), and the promotions
log, which a pipeline agent cannot write as a Delta table, is kept in the registry."""

from __future__ import annotations

import json
import os

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.models import infer_signature
from sklearn.linear_model import LinearRegression

from devops_mlops.cli import main
from devops_mlops.testing.databricks_emulator import DatabricksEmulator

TOKEN = "dapi-uc-model-1"
NAME = "main.ml.demand"
RNG = np.random.default_rng(11)
X = pd.DataFrame({"a": RNG.normal(size=60), "b": RNG.normal(size=60)})
Y = 3 * X.a - 2 * X.b


def run(args, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def register(emu, noise: float) -> int:
    """A training job's registration, as it runs on the workspace."""
    previous = os.environ.get("DATABRICKS_HOST")
    os.environ["DATABRICKS_HOST"] = emu.url
    try:
        mlflow.set_tracking_uri("databricks")
        mlflow.set_registry_uri("databricks-uc")
        mlflow.set_experiment("/Users/ci@example.com/demand")
        model = LinearRegression().fit(X, Y + RNG.normal(scale=noise, size=len(Y)))
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(model, name="model", signature=infer_signature(X, model.predict(X)),
                                            registered_model_name=NAME, pip_requirements=["scikit-learn"])
        return int(info.registered_model_version)
    finally:
        if previous is None:
            os.environ.pop("DATABRICKS_HOST", None)
        else:
            os.environ["DATABRICKS_HOST"] = previous


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    with DatabricksEmulator(token=TOKEN) as emu:
        X.assign(y=Y, plaza=range(len(Y))).to_parquet(tmp_path / "eval.parquet")
        (tmp_path / "mlops.yaml").write_text(
            f"project: demo\nmodel: {{name: {NAME}, label: y, keys: [plaza], primary_metric: rmse}}\n"
            "promotion:\n  thresholds: {rmse: {max: 1.0}}\n  evaluation_data: eval.parquet\n"
            f"targets:\n  local: {{default: true}}\n  staging:\n    backend: databricks\n    host: {emu.url}\n"
            "    workspace_dir: /Shared/demo\n")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
        yield emu


def test_status_validate_promote_rollback_on_unity_catalog(workspace, capsys, monkeypatch):
    emu = workspace
    v1, v2 = register(emu, 0.01), register(emu, 0.02)
    monkeypatch.delenv("DATABRICKS_HOST", raising=False)
    capsys.readouterr()  # what the training runs printed
    code, out, err = run(["--target", "staging", "--format", "json", "model", "status"], capsys)
    assert code == 0, err
    status = json.loads(out)
    assert sorted(v["version"] for v in status["versions"]) == [v1, v2]
    code, out, err = run(["--target", "staging", "model", "validate", "--version", str(v1)], capsys)
    assert code == 0, err
    for version in (v1, v2):
        code, out, err = run(["--target", "staging", "model", "promote", "--version", str(version),
                              "--to", "production", "--force"], capsys)
        assert code == 0, err
    def champion():
        return [v["version"] for v in emu.mlflow.models[NAME] if "champion" in v["aliases"]]

    assert champion() == [v2]
    # the promotions log went into the registry: no Delta table can be written from here
    history = [k for k in emu.mlflow.registered_model_tags(NAME) if k.startswith("mlops.promotions.production.")]
    assert len(history) == 2
    code, out, err = run(["--target", "staging", "--format", "json", "model", "rollback", "--to", "production"], capsys)
    assert code == 0, err
    assert json.loads(out)["version"] == v1 and champion() == [v1]
    tags = {v["version"]: v["tags"] for v in emu.mlflow.models[NAME]}
    assert tags[v2]["mlops.production.forced"] == "true" and "mlops.production.rolled_back_at" in tags[v1]
    assert TOKEN not in out + err


def test_a_version_without_signature_cannot_reach_unity_catalog(workspace):
    emu = workspace
    os.environ["DATABRICKS_HOST"] = emu.url
    try:
        mlflow.set_tracking_uri("databricks")
        mlflow.set_registry_uri("databricks-uc")
        mlflow.set_experiment("/Users/ci@example.com/demand")
        with mlflow.start_run(), pytest.raises(mlflow.exceptions.MlflowException, match="signature"):
            mlflow.sklearn.log_model(LinearRegression().fit(X, Y), name="model", registered_model_name=NAME,
                                     pip_requirements=["scikit-learn"])
    finally:
        os.environ.pop("DATABRICKS_HOST", None)


def with_production_catalog(emu, root) -> int:
    """A production target whose model is another catalog's (same workspace); one staging version registered."""
    text = (root / "mlops.yaml").read_text()
    (root / "mlops.yaml").write_text(
        text + f"  production:\n    backend: databricks\n    host: {emu.url}\n    workspace_dir: /Shared/demo-prod\n"
        "    model: {name: prod.ml.demand}\n")
    return register(emu, 0.01)


def test_promote_from_staging_copies_within_the_metastore(workspace, capsys, monkeypatch, tmp_path):
    """Deploy models: version N of main.ml.demand becomes a version of prod.ml.demand (copy_model_version)."""
    emu = workspace
    v1 = with_production_catalog(emu, tmp_path)
    monkeypatch.delenv("DATABRICKS_HOST", raising=False)
    capsys.readouterr()
    args = ["--target", "production", "--format", "json", "model", "promote", "--from", "staging",
            "--version", str(v1), "--to", "production"]
    code, out, err = run(args, capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["copy"]["how"] == "copy_model_version" and doc["copy"]["model"] == "prod.ml.demand"
    assert doc["gate"]["passed"] and doc["changed"]
    (copy,) = emu.mlflow.models["prod.ml.demand"]
    assert "champion" in copy["aliases"] and copy["tags"]["mlops.source.version"] == str(v1)
    assert copy["tags"]["mlops.source"].endswith(f"|main.ml.demand|{v1}")
    code, out, err = run(args, capsys)
    again = json.loads(out)
    assert code == 0 and again["copy"]["how"] == "already copied" and not again["changed"]
    assert len(emu.mlflow.models["prod.ml.demand"]) == 1


def test_a_copy_into_a_catalog_we_may_not_write_names_the_permission(workspace, capsys, monkeypatch, tmp_path):
    emu = workspace
    v1 = with_production_catalog(emu, tmp_path)
    emu.mlflow.deny("prod.ml")
    monkeypatch.delenv("DATABRICKS_HOST", raising=False)
    capsys.readouterr()
    code, out, err = run(["--target", "production", "model", "promote", "--from", "staging", "--version", str(v1),
                          "--to", "production"], capsys)
    assert code == 1 and err.count("\n") == 1 and "PERMISSION_DENIED" in err and "Traceback" not in err
    assert "CREATE MODEL ON SCHEMA prod.ml" in err
    assert "prod.ml.demand" not in emu.mlflow.models or not emu.mlflow.models["prod.ml.demand"]


def test_the_gate_reads_its_evaluation_data_from_a_volume_on_an_agent(workspace, capsys, monkeypatch, tmp_path):
    """A pipeline agent cannot read the target's Delta tables: a .parquet in a volume comes through the Files API."""
    import io

    emu = workspace
    cfg = tmp_path / "mlops.yaml"
    cfg.write_text(cfg.read_text().replace("evaluation_data: eval.parquet", "evaluation_data: /Volumes/main/ml/gate/eval.parquet"))
    v1 = register(emu, 0.01)
    monkeypatch.delenv("DATABRICKS_HOST", raising=False)
    capsys.readouterr()
    code, out, err = run(["--target", "staging", "model", "validate", "--version", str(v1)], capsys)
    assert code == 2 and "no file /Volumes/main/ml/gate/eval.parquet" in err and "mlops.yaml:5:" in err
    emu.volumes.add_volume("main.ml.gate")
    buffer = io.BytesIO()
    X.assign(y=Y, plaza=range(len(Y))).to_parquet(buffer)
    emu.volumes.write("/Volumes/main/ml/gate/eval.parquet", buffer.getvalue())
    code, out, err = run(["--target", "staging", "--format", "json", "model", "validate", "--version", str(v1)], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["passed"] and doc["rows"] == len(Y) and doc["evaluation"] == "file /Volumes/main/ml/gate/eval.parquet"


def test_when_mlflow_cannot_copy_the_files_are_registered_again(workspace, capsys, monkeypatch, tmp_path):
    """mlflow#22012: the service refuses the copy; the version's files travel and are registered instead."""
    emu = workspace
    v1 = with_production_catalog(emu, tmp_path)
    emu.mlflow.refuse_copies = True
    monkeypatch.delenv("DATABRICKS_HOST", raising=False)
    capsys.readouterr()
    code, out, err = run(["--target", "production", "--format", "json", "model", "promote", "--from", "staging",
                          "--version", str(v1), "--to", "production"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["copy"]["how"] == "download and register" and doc["gate"]["passed"]
    (copy,) = emu.mlflow.models["prod.ml.demand"]
    assert copy["status"] == "READY" and "champion" in copy["aliases"]
    assert copy["tags"]["mlops.source.version"] == str(v1)
    assert "MLmodel" in emu.mlflow.files_under("/Models/prod/ml/demand/1")


def test_across_workspaces_each_target_reads_with_its_own_profile(tmp_path, monkeypatch, capsys):
    """Two workspaces (two emulators, two metastores), a ~/.databrickscfg profile each: the version is
    read from staging with staging's credentials, then its files are registered in production's."""
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    with DatabricksEmulator(token="dapi-stg-1") as stg, DatabricksEmulator(token="dapi-prd-1") as prd:
        home = tmp_path / "home"
        home.mkdir()
        (home / ".databrickscfg").write_text(f"[stg]\nhost = {stg.url}\ntoken = dapi-stg-1\n\n"
                                             f"[prd]\nhost = {prd.url}\ntoken = dapi-prd-1\n")
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(home / ".databrickscfg"))
        X.assign(y=Y, plaza=range(len(Y))).to_parquet(tmp_path / "eval.parquet")
        (tmp_path / "mlops.yaml").write_text(
            f"project: demo\nmodel: {{name: {NAME}, label: y, keys: [plaza], primary_metric: rmse}}\n"
            "promotion:\n  thresholds: {rmse: {max: 1.0}}\n  evaluation_data: eval.parquet\n"
            "targets:\n  local: {default: true}\n"
            "  staging: {backend: databricks, profile: stg, workspace_dir: /Shared/demo}\n"
            "  production:\n    backend: databricks\n    profile: prd\n    workspace_dir: /Shared/demo\n"
            "    model: {name: prod.ml.demand}\n")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-stg-1")
        v1 = register(stg, 0.01)
        monkeypatch.delenv("DATABRICKS_TOKEN")
        capsys.readouterr()
        code, out, err = run(["--target", "production", "--format", "json", "model", "promote", "--from", "staging",
                              "--version", str(v1), "--to", "production"], capsys)
        assert code == 0, err
        doc = json.loads(out)
        assert doc["copy"]["how"] == "download and register" and doc["changed"]
        (copy,) = prd.mlflow.models["prod.ml.demand"]
        assert "champion" in copy["aliases"] and copy["tags"]["mlops.source.version"] == str(v1)
        assert "prod.ml.demand" not in stg.mlflow.models
        assert "dapi-stg-1" not in out + err and "dapi-prd-1" not in out + err
