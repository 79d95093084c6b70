"""The emulator's MLflow APIs through the real mlflow client (tracking URI ``databricks``, registry
URIs ``databricks`` and ``databricks-uc``): the model bytes travel through the emulator."""

import mlflow
import numpy as np
import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import LinearRegression

from devops_mlops.testing.databricks_emulator import DatabricksEmulator
from devops_mlops.testing.http import Faults

TOKEN = "dapi-mlflow"
EXPERIMENT = "/Users/ci@example.com/demand"
X = np.arange(20, dtype=float).reshape(10, 2)
Y = X @ [1.0, 2.0] + 3
MODEL = LinearRegression().fit(X, Y)


@pytest.fixture
def emu(monkeypatch):
    with DatabricksEmulator(token=TOKEN) as emu:
        monkeypatch.setenv("DATABRICKS_HOST", emu.url)
        monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
        mlflow.set_tracking_uri("databricks")
        mlflow.set_experiment(EXPERIMENT)
        yield emu
        emu.faults = Faults()
        while mlflow.active_run() is not None:  # a failed test's run ends while its server still answers
            mlflow.end_run()


def _log(registered_model_name=None, signature=True):
    """Train-and-log as a training job does (pip requirements given: no inference subprocess)."""
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", "0.5")
        mlflow.log_metric("rmse", 0.25)
        info = mlflow.sklearn.log_model(MODEL, name="model", signature=infer_signature(X, Y) if signature else None,
                                        registered_model_name=registered_model_name,
                                        pip_requirements=["scikit-learn"])
    return run, info


def _error(exc_info) -> str:
    return exc_info.value.error_code


def test_unity_catalog_log_alias_load_search_copy(emu):
    mlflow.set_registry_uri("databricks-uc")
    run, info = _log("main.ml.demand")
    assert str(info.registered_model_version) == "1"
    client = MlflowClient()
    mv = client.get_model_version("main.ml.demand", "1")
    assert (mv.status, mv.run_id, mv.model_id) == ("READY", run.info.run_id, info.model_id)
    # the emulator says the SDK models repository is on: the files went through the Files API
    files = emu.mlflow.files_under("/Models/main/ml/demand/1")
    assert {"MLmodel", "model.pkl", "requirements.txt"} <= set(files)
    assert b"signature:" in files["MLmodel"]
    assert emu.requests_by_path(r"^/api/2\.0/fs/files/Models/main/ml/demand/1/model\.pkl$", "PUT")
    assert emu.mlflow.bytes_written() >= 2 * len(files["model.pkl"])  # logged model + version
    created = emu.requests_by_path(r"/unity-catalog/model-versions/create$")[0].json
    assert created["run_tracking_server_id"] == emu.mlflow.workspace_id  # from runs/get's org-id header

    client.set_registered_model_alias("main.ml.demand", "champion", "1")
    model = mlflow.pyfunc.load_model("models:/main.ml.demand@champion")
    np.testing.assert_allclose(model.predict(X[:3]), MODEL.predict(X[:3]))
    # the SDK reads through a presigned URL (fs/create-download-url) the emulator signed and served,
    # or through the Files API itself: either way the bytes came from the emulator, once
    served = emu.requests_by_path(r"^(/storage|/api/2\.0/fs/files)/Models/main/ml/demand/1/model\.pkl$", "GET")
    assert len(served) == 1
    assert all("authorization" not in r.headers for r in emu.requests_by_path(r"^/storage/"))
    assert emu.mlflow.lineage and emu.mlflow.lineage[-1]["name"] == "main.ml.demand"

    # mlflow's UC client drops aliases and tags from search results (ModelVersionSearch raises on
    # them), so a search is followed by a get per version, as a caller has to
    found = client.search_model_versions("name = 'main.ml.demand'")
    assert {v.version: client.get_model_version(v.name, v.version).aliases for v in found} == {"1": ["champion"]}
    assert client.get_registered_model("main.ml.demand").aliases == {"champion": "1"}
    assert client.get_model_version_by_alias("main.ml.demand", "champion").version == "1"

    copy = client.copy_model_version("models:/main.ml.demand/1", "prod.ml.demand")
    assert (copy.name, copy.version, copy.status) == ("prod.ml.demand", "1", "READY")
    copied = emu.mlflow.files_under("/Models/prod/ml/demand/1")
    copied.pop("registered_model_meta", None)  # mlflow 3.17 adds this marker when it downloads a registered version
    assert copied == files
    assert emu.mlflow.models["prod.ml.demand"] == [{
        "version": 1, "status": "READY", "aliases": [], "tags": {}, "source": "models:/main.ml.demand/1",
        "run_id": run.info.run_id, "model_id": info.model_id}]

    client.delete_registered_model_alias("main.ml.demand", "champion")
    with pytest.raises(MlflowException) as exc:
        client.get_model_version_by_alias("main.ml.demand", "champion")
    assert _error(exc) == "RESOURCE_DOES_NOT_EXIST"


def test_presigned_urls_when_the_files_api_is_not_used(emu):
    """UC files through ``fs/create-upload-url`` (storage mode DEFAULT_STORAGE) and tracking artifacts
    through ``credentials-for-*``: both hand out URLs the emulator signs and serves."""
    emu.mlflow.uc_files_api = False
    emu.mlflow.tracking_files_api = False  # the Files API refuses /WorkspaceInternal: mlflow falls back
    mlflow.set_registry_uri("databricks-uc")
    run, info = _log()
    mv = mlflow.register_model(info.model_uri, "main.ml.demand")
    assert (mv.version, mv.status) == ("1", "READY")
    assert emu.requests_by_path(r"/logged-models/m-\w+/artifacts/credentials-for-upload$")
    assert emu.requests_by_path(r"/unity-catalog/model-versions/generate-temporary-credentials$")
    assert len(emu.requests_by_path(r"^/api/2\.0/fs/create-upload-url$")) == len(emu.mlflow.files_under(
        "/Models/main/ml/demand/1"))
    assert not emu.requests_by_path(r"^/api/2\.0/fs/files/Models/", "PUT")
    model = mlflow.pyfunc.load_model("models:/main.ml.demand/1")
    np.testing.assert_allclose(model.predict(X[:2]), MODEL.predict(X[:2]))

    with mlflow.start_run(run_id=run.info.run_id):
        mlflow.log_text("hello", "notes/a.txt")
    assert emu.requests_by_path(r"/artifacts/credentials-for-write$")[-1].json["path"] == ["notes/a.txt"]
    client = MlflowClient()
    assert [(f.path, f.file_size) for f in client.list_artifacts(run.info.run_id, "notes")] == [("notes/a.txt", 5)]
    assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/notes/a.txt") == "hello"
    assert emu.requests_by_path(r"/artifacts/credentials-for-read$")

    # a READY version's files are sealed; a signed URL is only good for what it was signed for
    auth = {"Authorization": f"Bearer {TOKEN}"}
    answer = requests.post(f"{emu.url}/api/2.0/fs/create-upload-url", headers=auth, timeout=10,
                           json={"path": "/Models/main/ml/demand/1/MLmodel"})
    assert (answer.status_code, answer.json()["error_code"]) == (403, "PERMISSION_DENIED")
    url = requests.post(f"{emu.url}/api/2.0/fs/create-download-url", headers=auth, timeout=10,
                        json={"path": "/Models/main/ml/demand/1/MLmodel"}).json()["url"]
    assert requests.get(url, timeout=10).content == emu.mlflow.artifacts["/Models/main/ml/demand/1/MLmodel"]
    assert requests.put(url, data=b"x", timeout=10).status_code == 403


@pytest.mark.filterwarnings("ignore:.*Model registry stages will be removed:FutureWarning")
def test_workspace_registry_stages_tags_and_download(emu):
    mlflow.set_registry_uri("databricks")
    run, info = _log("demand")
    mv2 = mlflow.register_model(f"runs:/{run.info.run_id}/model", "demand")
    assert mv2.version == "2" and mv2.status == "READY"
    client = MlflowClient()
    client.transition_model_version_stage("demand", "1", "Production")
    client.transition_model_version_stage("demand", "2", "production", archive_existing_versions=True)
    assert [(m["version"], m["stage"]) for m in emu.mlflow.models["demand"]] == [(1, "Archived"), (2, "Production")]
    assert [v.version for v in client.get_latest_versions("demand", ["Production"])] == ["2"]
    client.set_model_version_tag("demand", "2", "validated", "yes")
    client.set_registered_model_tag("demand", "team", "ml")
    assert client.get_model_version("demand", "2").tags == {"validated": "yes"}
    assert client.get_registered_model("demand").tags == {"team": "ml"}

    model = mlflow.pyfunc.load_model("models:/demand/Production")
    np.testing.assert_allclose(model.predict(X[:2]), MODEL.predict(X[:2]))
    assert emu.requests_by_path(r"/model-versions/get-signed-download-uri$")
    assert emu.mlflow.files_under("/registry/demand/2")["model.pkl"] == emu.mlflow.files_under(
        f"/databricks/mlflow-tracking/1/logged_models/{info.model_id}/artifacts")["model.pkl"]

    # aliases are a Unity Catalog feature for mlflow: its workspace-registry client refuses them
    with pytest.raises(MlflowException, match="unsupported for models in the Workspace Model Registry"):
        client.set_registered_model_alias("demand", "champion", "2")
    assert not emu.requests_by_path(r"/registered-models/alias$")

    assert [m.name for m in client.search_registered_models("name LIKE 'dem%'")] == ["demand"]
    assert sorted(v.version for v in client.search_model_versions("name = 'demand'")) == ["1", "2"]
    runs = mlflow.search_runs(filter_string="params.alpha = '0.5' and metrics.rmse < 1", output_format="list")
    assert [r.info.run_id for r in runs] == [run.info.run_id]
    assert client.get_metric_history(run.info.run_id, "rmse")[0].value == 0.25

    client.delete_model_version("demand", "1")
    with pytest.raises(MlflowException) as exc:
        client.get_model_version("demand", "1")
    assert _error(exc) == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.filterwarnings("ignore:.*Model registry stages will be removed:FutureWarning")
def test_unity_catalog_refusals(emu):
    mlflow.set_registry_uri("databricks-uc")
    client = MlflowClient()
    with pytest.raises(MlflowException, match="catalog>.<schema>.<model>") as exc:
        client.create_registered_model("ml.demand")
    assert _error(exc) == "INVALID_PARAMETER_VALUE"
    client.create_registered_model("main.ml.demand")
    with pytest.raises(MlflowException) as exc:
        client.create_registered_model("main.ml.demand")
    assert _error(exc) == "RESOURCE_ALREADY_EXISTS"
    for call in (lambda: client.get_model_version("main.ml.demand", "7"),
                 lambda: client.get_registered_model("main.ml.other"),
                 lambda: client.get_model_version_by_alias("main.ml.demand", "champion")):
        with pytest.raises(MlflowException) as exc:
            call()
        assert _error(exc) == "RESOURCE_DOES_NOT_EXIST"

    # no stages in Unity Catalog: mlflow refuses before sending, and so does the service
    with pytest.raises(MlflowException, match="unsupported for models in the Unity Catalog"):
        client.transition_model_version_stage("main.ml.demand", "1", "Production")
    answer = requests.post(f"{emu.url}/api/2.0/mlflow/unity-catalog/model-versions/transition-stage",
                           headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10,
                           json={"name": "main.ml.demand", "version": "1", "stage": "Production"})
    assert answer.status_code == 400 and "use aliases" in answer.json()["message"]

    emu.mlflow.deny("main.secure")
    with pytest.raises(MlflowException) as exc:
        client.create_registered_model("main.secure.demand")
    assert _error(exc) == "PERMISSION_DENIED"
    assert set(emu.mlflow.models) == {"main.ml.demand"}


def test_unity_catalog_requires_a_signature(emu, monkeypatch):
    mlflow.set_registry_uri("databricks")
    _, info = _log("plain", signature=False)  # the workspace registry takes it

    mlflow.set_registry_uri("databricks-uc")
    with pytest.raises(MlflowException, match="did not contain any signature metadata"):
        mlflow.register_model(info.model_uri, "main.ml.demand")
    assert not emu.requests_by_path(r"/unity-catalog/model-versions/create$")  # mlflow checked first

    # the migration switch skips mlflow's own check: the service reads the MLmodel at finalize
    monkeypatch.setenv("MLFLOW_SKIP_SIGNATURE_CHECK_FOR_UC_REGISTRY_MIGRATION", "true")
    with pytest.raises(MlflowException, match="did not contain any signature metadata") as exc:
        MlflowClient(registry_uri="databricks").copy_model_version("models:/plain/1", "main.ml.demand")
    assert _error(exc) == "INVALID_PARAMETER_VALUE"
    [version] = emu.mlflow.models["main.ml.demand"]
    assert version["status"] == "FAILED_REGISTRATION" and "MLmodel" in emu.mlflow.files_under(
        "/Models/main/ml/demand/1")


def test_experiments_are_workspace_paths_and_runs_search(emu):
    client = MlflowClient()
    for name, code in (("demand", "INVALID_PARAMETER_VALUE"), ("/Users/nobody@example.com/demand",
                       "RESOURCE_DOES_NOT_EXIST"), (EXPERIMENT, "RESOURCE_ALREADY_EXISTS")):
        with pytest.raises(MlflowException) as exc:
            client.create_experiment(name)
        assert _error(exc) == code, name
    assert client.get_experiment_by_name("/Users/ci@example.com/none") is None
    assert [e.name for e in client.search_experiments(filter_string="name LIKE '/Users/%'")] == [EXPERIMENT]

    experiment_id = client.get_experiment_by_name(EXPERIMENT).experiment_id
    first, second = (client.create_run(experiment_id, run_name=n) for n in ("first", "second"))
    client.log_metric(first.info.run_id, "rmse", 0.3)
    client.log_metric(second.info.run_id, "rmse", 0.1)
    found = client.search_runs([experiment_id], order_by=["metrics.rmse ASC"])
    assert [r.info.run_name for r in found] == ["second", "first"]
    assert [r.info.run_name for r in client.search_runs([experiment_id], "attributes.run_name = 'first'")] == ["first"]
    client.log_param(first.info.run_id, "alpha", "1")
    with pytest.raises(MlflowException, match="Changing param values is not allowed"):
        client.log_param(first.info.run_id, "alpha", "2")
    client.set_terminated(first.info.run_id)
    assert client.get_run(first.info.run_id).info.status == "FINISHED"


def test_a_wrong_token_is_refused(emu, monkeypatch):
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong")
    with pytest.raises(MlflowException, match="401|UNAUTHENTICATED|invalid or missing token"):
        MlflowClient().get_experiment_by_name(EXPERIMENT)
    assert emu.requests[-1].headers["authorization"] == "Bearer dapi-wrong"


def test_transient_faults_are_retried(emu):
    mlflow.set_registry_uri("databricks-uc")
    emu.faults = Faults(script=["503", "throttle"], retry_after=0, path_pattern=r"^/api/2\.0/mlflow/unity-catalog/")
    _, info = _log("main.ml.demand")
    assert [f[2] for f in emu.faults_injected] == ["503", "throttle"]
    assert emu.mlflow.models["main.ml.demand"][0]["status"] == "READY"

    emu.faults = Faults(script=["503", "throttle"], retry_after=0, path_pattern=r"^/storage/")
    model = mlflow.pyfunc.load_model("models:/main.ml.demand/1")
    np.testing.assert_allclose(model.predict(X[:2]), MODEL.predict(X[:2]))
    assert [f[2] for f in emu.faults_injected[2:]] == ["503", "throttle"]
