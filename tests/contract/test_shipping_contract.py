"""Shipping contract: what `mlops sync` + `mlops deploy` put on Databricks is all a job run gets.

The emulator executes the job's notebook from the emulated workspace in a fresh environment
holding only the libraries the deploy wired in (the toolkit pin resolved from a folder of
wheels standing in for PyPI), so a missing wheel fails the run here as it would on Databricks.
"""

import os
import shutil
import subprocess
import sys

import pytest

from devops_mlops.testing.databricks_emulator import DatabricksEmulator
from devops_mlops.testing.databricks_runtime import ClusterRuntime
from devops_mlops.testing.shipping_project import VOLUME, shipping_project

pytestmark = pytest.mark.slow
TOKEN = "dapi-contract"


@pytest.fixture(scope="session")
def package_index(tmp_path_factory):
    """The toolkit's wheel, as a package index would serve `devops-mlops==<version>`."""
    from devops_mlops.ops.wheels import build_wheel, toolkit_source

    index = tmp_path_factory.mktemp("index")
    built = build_wheel(toolkit_source(), tmp_path_factory.mktemp("toolkit-build"))
    shutil.copy(built.path, index)
    return str(index)


@pytest.fixture
def emu(package_index):
    with DatabricksEmulator(token=TOKEN) as e:
        e.volumes.add_volume(VOLUME)
        e.execute(ClusterRuntime(package_index=package_index, timeout=300))
        yield e


def mlops(root, *args):
    env = {**os.environ, "DATABRICKS_TOKEN": TOKEN}
    return subprocess.run([sys.executable, "-m", "devops_mlops", "--target", "dev", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)


def ok(proc):
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_sync_deploy_run_registers_a_model_from_the_shipped_wheel(tmp_path, emu):
    db = tmp_path / "mlflow.db"
    shipping_project(tmp_path, host=emu.url, tracking_uri=f"sqlite:///{db}")
    ok(mlops(tmp_path, "sync"))
    assert "/Shared/ship/mlops.yaml" in emu.files  # the session finds it from the notebook's folder
    out = ok(mlops(tmp_path, "deploy")).stdout
    assert "+ upload   ship_demo-0.1.0-py3-none-any.whl sha256:" in out
    run = ok(mlops(tmp_path, "run", "training"))
    assert "train" in run.stdout and "SUCCESS" in run.stdout
    from mlflow import MlflowClient

    versions = MlflowClient(f"sqlite:///{db}").search_model_versions("name='ship-model'")
    assert [int(v.version) for v in versions] == [1]
    [executed] = emu.runs.values()
    assert executed.outputs["train"].output == "1"  # dbutils.notebook.exit of the notebook


def test_without_the_wheel_the_run_fails_with_the_tasks_import_error(tmp_path, emu):
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
