"""Shipping contract: what `mlops sync` + `mlops deploy` put on Databricks is all a job run gets.

The emulator executes the job's notebook from the emulated workspace in a fresh environment
holding only the libraries the deploy wired in (the toolkit pin resolved from a folder of
wheels standing in for PyPI), so a missing wheel fails the run here as it would on Databricks.
"""

import os
import shutil

import pytest

from devops_mlops.testing.databricks import ClusterRuntime
from devops_mlops.testing.databricks_emulator import DatabricksEmulator
from devops_mlops.testing.shipping_project import VOLUME, shipping_project
from devops_mlops.testing.warm_cli import WarmCli

pytestmark = pytest.mark.slow
TOKEN = "dapi-contract"


#: what the toolkit's build reads: setup.py copies the project template from examples/toll-demand
_TOOLKIT_BUILD = ("pyproject.toml", "setup.py", "README.md", "devops_mlops", "examples/toll-demand")


@pytest.fixture(scope="session")
def package_index(tmp_path_factory):
    """The toolkit's wheel, as a package index would serve `devops-mlops==<version>`. Built from a
    copy of what its build reads, not from the whole checkout (whose virtual environments and
    benchmark data the build would copy first)."""
    from devops_mlops.ops.wheels import build_wheel, toolkit_source

    checkout = toolkit_source()
    source = tmp_path_factory.mktemp("toolkit-source")
    for item in _TOOLKIT_BUILD:
        if (checkout / item).is_dir():
            shutil.copytree(checkout / item, source / item, ignore=shutil.ignore_patterns(
                "__pycache__", "*.pyc", "*.egg-info", ".mlops"))
        else:
            shutil.copy2(checkout / item, source / item)
    index = tmp_path_factory.mktemp("index")
    built = build_wheel(source, tmp_path_factory.mktemp("toolkit-build"))
    shutil.copy(built.path, index)
    return str(index)


@pytest.fixture
def emu(package_index):
    with DatabricksEmulator(token=TOKEN) as e:
        e.volumes.add_volume(VOLUME)
        e.execute(ClusterRuntime(package_index=package_index, timeout=300))
        yield e


@pytest.fixture(scope="module")
def cli():
    """The `mlops` runs are forked from a launcher that has imported the CLI, the SDK and MLflow."""
    with WarmCli(preload=["devops_mlops.cli.app", "devops_mlops.context", "devops_mlops.cli.sync",
                          "devops_mlops.cli.deploy", "devops_mlops.cli.run", "devops_mlops.cli.model",
                          "databricks.sdk", "mlflow"]) as launcher:
        yield launcher


@pytest.fixture
def mlops(cli):
    """mlops(root, *args): a run of `mlops --target dev ARGS` in ``root``."""

    def run(root, *args):
        return cli.run(["--target", "dev", *args], cwd=root, env={**os.environ, "DATABRICKS_TOKEN": TOKEN},
                       timeout=600)

    return run


def ok(proc):
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_sync_deploy_run_registers_a_model_from_the_shipped_wheel(tmp_path, emu, mlops):
    db = tmp_path / "mlflow.db"
    shipping_project(tmp_path, host=emu.url, tracking_uri=f"sqlite:///{db}")
    ok(mlops(tmp_path, "sync"))
    assert "/Shared/ship/mlops.yaml" in emu.files  # the session finds it from the notebook's folder
    out = ok(mlops(tmp_path, "deploy")).stdout
    assert "+ upload   ship_demo-0.1.0-py3-none-any.whl sha256:" in out
    run = ok(mlops(tmp_path, "run", "training"))
    assert "train" in run.stdout and "SUCCESS" in run.stdout
    from mlflow import MlflowClient

    versions = MlflowClient(f"sqlite:///{db}", registry_uri=f"sqlite:///{db}").search_model_versions("name='ship-model'")
    assert [int(v.version) for v in versions] == [1]
    [executed] = emu.runs.values()
    assert executed.outputs["train"].output == "1"  # dbutils.notebook.exit of the notebook


def test_a_deployed_training_job_registers_into_the_workspaces_unity_catalog(tmp_path, emu, mlops):
    """No tracking_uri: the job's MLflow is the workspace's own, its model a Unity Catalog one; then
    `mlops model status|promote` on the target work on the version the job registered."""
    import json

    shipping_project(tmp_path, host=emu.url, tracking_uri=None, model="main.ml.ship_model")
    ok(mlops(tmp_path, "sync"))
    ok(mlops(tmp_path, "deploy"))
    ok(mlops(tmp_path, "run", "training"))
    (version,) = emu.mlflow.models["main.ml.ship_model"]
    assert version["status"] == "READY" and version["version"] == 1
    assert "MLmodel" in emu.mlflow.files_under("/Models/main/ml/ship_model/1")
    status = json.loads(ok(mlops(tmp_path, "--format", "json", "model", "status")).stdout)
    assert [v["version"] for v in status["versions"]] == [1]
    ok(mlops(tmp_path, "model", "promote", "--version", "1", "--to", "staging", "--force"))
    assert "challenger" in emu.mlflow.models["main.ml.ship_model"][0]["aliases"]


def test_a_training_job_whose_model_unity_catalog_refuses_fails_its_run(tmp_path, emu, mlops):
    """A two-level name where the job registers into Unity Catalog fails as the service would."""
    shipping_project(tmp_path, host=emu.url, tracking_uri=None, model="ship_model")
    cfg = tmp_path / "mlops.yaml"
    cfg.write_text(cfg.read_text().replace("    artifacts:", "    registry_uri: databricks-uc\n    artifacts:"))
    run = mlops(tmp_path, "sync")
    assert run.returncode == 2 and "<catalog>.<schema>.<model>" in run.stderr and "mlops.yaml:2" in run.stderr


def test_without_the_wheel_the_run_fails_with_the_tasks_import_error(tmp_path, emu, mlops):
    shipping_project(tmp_path, host=emu.url, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    cfg = tmp_path / "mlops.yaml"
    cfg.write_text(cfg.read_text() + "package: {enabled: false}\n")  # the project's wheel is left out
    ok(mlops(tmp_path, "sync"))
    ok(mlops(tmp_path, "deploy"))
    run = mlops(tmp_path, "run", "training")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "ModuleNotFoundError: No module named 'ship_demo'" in run.stdout
    assert "Traceback" not in run.stderr
    # nor does the toolkit come from this checkout or its editable install: only from what deploy wired
    cfg.write_text(cfg.read_text().replace("toolkit: pin", "toolkit: none"))
    ok(mlops(tmp_path, "deploy"))
    run = mlops(tmp_path, "run", "training")
    assert run.returncode == 1 and "No module named 'devops_mlops'" in run.stdout, run.stdout + run.stderr


def test_the_examples_training_job_runs_from_its_shipped_wheel(tmp_path, emu, mlops):
    """examples/toll-demand on a Databricks target (job cluster) of the emulator: its own package
    comes only from the wheel deploy built, the toolkit only from the pinned requirement."""
    from pathlib import Path

    import yaml
    from mlflow import MlflowClient

    example = Path(__file__).resolve().parents[2] / "examples" / "toll-demand"
    root = tmp_path / "toll-demand"
    shutil.copytree(example, root, ignore=shutil.ignore_patterns(".mlops", "__pycache__"))
    cfg = yaml.safe_load((root / "mlops.yaml").read_text())
    cfg["targets"]["dev"] = {
        "backend": "databricks", "host": emu.url, "workspace_dir": "/Shared/toll-demand",
        "compute": {"job_cluster": {"spark_version": "15.4.x-scala2.12", "node_type_id": "Standard_DS3_v2",
                                    "num_workers": 1}},
        "tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "tables": {"path": str(tmp_path / "tables")},
        "artifacts": {"path": "/Volumes/main/ml/artifacts/toll-demand"}}
    (root / "mlops.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    ok(mlops(root, "sync"))
    assert "toll_demand-0.1.0-py3-none-any.whl" in ok(mlops(root, "deploy", "--job", "training")).stdout
    run = ok(mlops(root, "run", "training"))
    for task in ("extract", "prepare", "features", "train", "validate"):
        assert any(line.split() == [task, "SUCCESS"] for line in run.stdout.splitlines()), run.stdout
    name = cfg["model"]["name"]
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert MlflowClient(store, registry_uri=store).search_model_versions(f"name='{name}'")


def test_a_requirement_the_runtime_cannot_satisfy_fails_the_library_installation(tmp_path, emu, mlops):
    shipping_project(tmp_path, host=emu.url, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"mlflow"]', '"mlflow", "no-such-dependency-anywhere"]'))
    ok(mlops(tmp_path, "sync"))
    ok(mlops(tmp_path, "deploy"))
    run = mlops(tmp_path, "run", "training")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Library installation failed" in run.stdout and "no-such-dependency-anywhere" in run.stdout
