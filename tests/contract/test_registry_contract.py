"""The registry port's contract over real MLflow — the sqlite store the local backend uses, an
`mlflow server` this module starts on loopback (one server for the whole module), the emulated
Databricks workspace and Unity Catalog registries — and over the in-memory fake
(devops_mlops/testing/fakes/registry.py)."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from devops_mlops.adapters.mlflow_registry import MlflowRegistry
from devops_mlops.errors import ServiceError
from devops_mlops.testing.fakes.registry import FakeRegistry

X = pd.DataFrame({"a": np.arange(12.0), "b": np.arange(12.0) % 3})
Y = 2 * X.a - X.b


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _no_telemetry(monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture(scope="module")
def _server_process(tmp_path_factory):
    """Start `mlflow server` as soon as the module starts, so it boots while the sqlite suite runs."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    log = open(folder / "server.log", "w")  # noqa: SIM115 - closed below
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.Popen(
        [
            str(mlflow_bin),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{folder / 'db.sqlite'}",
            "--artifacts-destination",
            str(folder / "artifacts"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )
    try:
        yield proc, f"http://127.0.0.1:{port}", folder / "server.log"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


@pytest.fixture(scope="module")
def mlflow_server(_server_process):
    proc, url, log = _server_process
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return url
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("mlflow server did not start:\n" + log.read_text()[-3000:])
        time.sleep(0.2)


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow-sqlite")
    return f"sqlite:///{folder / 'mlflow.db'}", (folder / "mlartifacts").as_uri()


@pytest.fixture(scope="module")
def workspace():
    """The emulated Databricks workspace (its MLflow APIs), one for the module."""
    from devops_mlops.testing.databricks_emulator import DatabricksEmulator

    with DatabricksEmulator(token="dapi-registry-contract") as emu, pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABRICKS_HOST", emu.url)  # for the module's fixtures (logged)
        mp.setenv("DATABRICKS_TOKEN", "dapi-registry-contract")
        yield emu


@pytest.fixture(autouse=True)
def _workspace_env(request, _isolated_env, monkeypatch):
    """Each test's isolated environment drops the credentials: give the emulated workspace's back."""
    if "make_registry" not in request.fixturenames:
        return
    if request.getfixturevalue("make_registry").kind in ("workspace", "unity-catalog"):
        emu = request.getfixturevalue("workspace")
        monkeypatch.setenv("DATABRICKS_HOST", emu.url)
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-registry-contract")


@pytest.fixture(scope="module", params=[
    pytest.param("fake", marks=pytest.mark.fast), "sqlite", "server", "workspace", "unity-catalog",
])
def make_registry(request):
    if request.param == "fake":
        shared = FakeRegistry()

        def make_fake(**kwargs):
            return shared.view(**kwargs)

        make_fake.kind = "fake"
        return make_fake
    request.getfixturevalue("_server_process")  # boots while the sqlite suite runs
    if request.param == "sqlite":
        uri, artifacts = request.getfixturevalue("sqlite_store")
        registry_uri = uri
    elif request.param == "server":
        uri, artifacts = request.getfixturevalue("mlflow_server"), None
        registry_uri = uri
    else:
        request.getfixturevalue("workspace")
        uri, artifacts = "databricks", None
        registry_uri = "databricks-uc" if request.param == "unity-catalog" else "databricks"

    def make(**kwargs):
        return MlflowRegistry(uri, registry_uri, artifact_root=artifacts, **kwargs)

    make.kind = request.param
    return make


@pytest.fixture(scope="module")
def store(make_registry):
    """The registry that logs the module's training runs (other registries of the store see them)."""
    return make_registry()


@pytest.fixture(scope="module")
def logged(store):
    """Two training runs (rmse 1.0 and 0.5) in one experiment, logged once per store; tests register them."""
    return [
        store.log_training_run(
            LinearRegression().fit(X, Y + i), sample=X, experiment=f"contract-{uuid.uuid4().hex[:6]}",
            run_name="train", params={"i": i}, metrics={"rmse": 1.0 / (i + 1)},
            tags={"mlops.git_commit": "c0ffee" * 6 + "abcd", "mlops.stage": "train"},
        )
        for i in range(2)
    ]


def _register(registry, logged, name, n=2):
    versions = []
    for i in range(n):
        number = registry.register(logged[i % len(logged)].model_uri, name, {"n": str(i)})
        versions.append(registry.get_version(name, number))
    return versions


def _name(make_registry=None):
    prefix = "main.ml." if getattr(make_registry, "kind", "") == "unity-catalog" else ""
    return f"{prefix}m_{uuid.uuid4().hex[:8]}"


def test_unknown_model_and_version_are_service_errors(make_registry, logged):
    registry = make_registry()
    with pytest.raises(ServiceError, match="not found|does not exist") as err:
        registry.get_model(_name(make_registry))
    assert err.value.exit_code == 2 and "register the model" in err.value.hint
    name = _name(make_registry)
    _register(registry, logged, name, 1)
    with pytest.raises(ServiceError, match="version 7"):
        registry.get_version(name, 7)


def test_versions_carry_run_and_metrics(make_registry, logged):
    registry = make_registry()
    name = _name(make_registry)
    v1, v2 = _register(registry, logged, name)
    assert (v1.version, v2.version) == (1, 2)
    listed = registry.get_model(name)
    assert [v.version for v in listed] == [1, 2]
    assert listed[1].metrics["rmse"] == pytest.approx(0.5) and listed[1].run_id == v2.run_id
    assert registry.model_uri(name, 2) == f"models:/{name}/2"
    predictions = registry.load_model(name, 2).predict(X)
    assert np.allclose(predictions, Y + 1)


def _no_aliases_on_the_workspace_registry(make_registry):
    if make_registry.kind == "workspace":
        pytest.skip("the MLflow client refuses aliases on a Databricks workspace registry: stages are used there")


def test_aliases_scheme(make_registry, logged):
    _no_aliases_on_the_workspace_registry(make_registry)
    registry = make_registry()
    name = _name(make_registry)
    _register(registry, logged, name)
    assert registry.holder(name, "production") is None
    registry.assign(name, "production", 1)
    registry.assign(name, "staging", 2)
    assert registry.holder(name, "production").version == 1
    assert registry.holder(name, "staging").version == 2
    registry.assign(name, "production", 2)
    assert registry.holder(name, "production").version == 2
    assert registry.get_version(name, 2).aliases == ["challenger", "champion"]
    assert registry.get_version(name, 1).aliases == []


def test_stages_scheme_archives_the_previous_holder(make_registry, logged):
    if make_registry.kind == "unity-catalog":
        pytest.skip("Unity Catalog has no stages (aliases only)")
    registry = make_registry(scheme="stages")
    name = _name(make_registry)
    _register(registry, logged, name, 3)
    registry.assign(name, "production", 1)
    registry.assign(name, "staging", 3)
    registry.assign(name, "production", 2)
    assert registry.holder(name, "production").version == 2
    assert registry.holder(name, "staging").version == 3
    assert registry.get_version(name, 1).stage == "Archived"


def test_a_workspace_registry_promotes_with_stages_even_when_aliases_are_configured(make_registry, logged):
    if make_registry.kind != "workspace":
        pytest.skip("only the Databricks workspace registry refuses aliases")
    registry = make_registry(scheme="aliases")
    name = _name(make_registry)
    _register(registry, logged, name, 2)
    registry.assign(name, "production", 1)
    registry.assign(name, "production", 2)
    assert registry.holder(name, "production").version == 2
    assert registry.get_version(name, 1).stage == "Archived"


def test_custom_alias_names_and_tags(make_registry, logged):
    _no_aliases_on_the_workspace_registry(make_registry)
    registry = make_registry(aliases={"staging": "candidate", "production": "live"})
    name = _name(make_registry)
    _register(registry, logged, name, 1)
    registry.assign(name, "production", 1)
    assert registry.get_version(name, 1).aliases == ["live"]
    registry.set_tags(name, 1, {"mlops.production.promoted_by": "alice", "empty": None})
    tags = registry.get_version(name, 1).tags
    assert tags["mlops.production.promoted_by"] == "alice" and tags["empty"] == ""


def test_runs_experiments_and_registering_with_tags(make_registry, store, logged):
    registry = make_registry()
    experiment = f"contract-exp-{uuid.uuid4().hex[:6]}"
    first = registry.use_experiment(experiment)
    assert registry.use_experiment(experiment) == first and registry.ensure_experiment(experiment) == first
    tags = registry.run_tags(logged[1].run_id)
    assert tags["mlops.stage"] == "train" and tags["mlops.git_commit"].startswith("c0ffee")
    with pytest.raises(ServiceError):
        registry.run_tags("0" * 32)
    name = _name(make_registry)
    number = registry.register(logged[1].model_uri, name, {"mlops.eval_batch": "4"})
    version = registry.get_version(name, number)
    assert version.run_id == logged[1].run_id and version.tags["mlops.eval_batch"] == "4"
    assert version.metrics["rmse"] == pytest.approx(0.5)
    assert version.tags["mlops.source_git_commit"].startswith("c0ffee")  # the run's commit


def test_a_model_loads_from_its_run_uri_with_its_signature(make_registry, logged):
    model = make_registry().load_model(logged[0].model_uri)
    assert np.allclose(model.predict(X), Y)
    assert model.metadata.get_input_schema().input_names() == ["a", "b"]


def test_unassign_and_model_tags(make_registry, logged):
    _no_aliases_on_the_workspace_registry(make_registry)
    registry = make_registry()
    name = _name(make_registry)
    _register(registry, logged, name, 1)
    registry.assign(name, "staging", 1)
    registry.unassign(name, "staging", 1)
    assert registry.holder(name, "staging") is None
    registry.set_model_tag(name, "mlops.retrain.state", "running")
    assert registry.model_tags(name)["mlops.retrain.state"] == "running"
    registry.delete_model_tag(name, "mlops.retrain.state")
    registry.delete_model_tag(name, "mlops.retrain.state")  # gone already: nothing to do
    assert "mlops.retrain.state" not in registry.model_tags(name)


def test_opened_ahead_and_activated_the_registry_keeps_working(make_registry, logged):
    """``open`` (ops/ahead.py, on an idle core) may run twice and before anything else; ``activate``
    points the process's MLflow at this registry for a notebook's own calls."""
    registry = make_registry()
    registry.open()
    registry.open()
    registry.activate()
    name = _name(make_registry)
    number = registry.register(logged[0].model_uri, name, {})
    assert registry.get_version(name, number).version == number
    if make_registry.kind != "fake":
        import mlflow

        assert mlflow.get_registry_uri() == registry.registry_uri
