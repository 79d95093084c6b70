"""A small project with a package of its own, for tests and benchmarks of shipping to Databricks.

``shipping_project(root, host=..., tracking_uri=...)`` writes: ``pyproject.toml`` and
``src/ship_demo/`` (data and training code), ``notebooks/train.py`` (opens the toolkit's session,
trains with the package, registers the model), ``resources/training.yml`` (one notebook task),
and ``mlops.yaml`` with a ``dev`` Databricks target on a job cluster whose artifacts go to the
volume ``/Volumes/main/ml/artifacts/ship``. Returns the mlops.yaml path.
"""

from __future__ import annotations

from pathlib import Path

VOLUME = "main.ml.artifacts"
ARTIFACTS = "/Volumes/main/ml/artifacts/ship"
PACKAGE = "ship_demo"

_PYPROJECT = """[build-system]
requires = ["setuptools>=61", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "ship-demo"
version = "0.1.0"
dependencies = ["scikit-learn", "pandas", "mlflow"]

[tool.setuptools.packages.find]
where = ["src"]
"""

_DATA = '''"""Synthetic training data."""

import numpy as np
import pandas as pd


def make_data(rows: int = 200, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": 3 * x[:, 0] - x[:, 1] + rng.normal(0, 0.1, rows)})
'''

_TRAIN = '''"""Train and register the model."""

from sklearn.linear_model import LinearRegression

from .data import make_data

FEATURES = ["a", "b"]


def train_and_register(mlflow, model_name: str) -> int:
    frame = make_data()
    model = LinearRegression().fit(frame[FEATURES], frame["label"])
    with mlflow.start_run():
        mlflow.log_metric("r2", float(model.score(frame[FEATURES], frame["label"])))
        info = mlflow.sklearn.log_model(model, name="model", input_example=frame[FEATURES].head(3))
    return int(mlflow.register_model(info.model_uri, model_name).version)
'''

_NOTEBOOK = """# Databricks notebook source
dbutils.widgets.text("target", "")

# COMMAND ----------

from devops_mlops.runtime import api
from ship_demo.train import train_and_register

s = api.session(dbutils.widgets.get("target"))
version = train_and_register(s.mlflow(), s.model_name)
dbutils.jobs.taskValues.set("version", version)

# COMMAND ----------

dbutils.notebook.exit(str(version))
"""

_JOB = """resources:
  jobs:
    training:
      name: ship-training-${target}
      tasks:
        - task_key: train
          notebook_task:
            notebook_path: notebooks/train.py
            base_parameters: {target: "${target}"}
"""


def shipping_project(root, *, host: str, tracking_uri: str | None, toolkit: str = "pin",
                     artifacts: str = ARTIFACTS, model: str = "ship-model") -> Path:
    """``tracking_uri`` None: the target's default, the workspace's own MLflow (``databricks``,
    ``databricks-uc`` for a ``catalog.schema.model`` name)."""
    root = Path(root)
    (root / "src" / PACKAGE).mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(_PYPROJECT)
    (root / "src" / PACKAGE / "__init__.py").write_text('"""The project\'s own code."""\n')
    (root / "src" / PACKAGE / "data.py").write_text(_DATA)
    (root / "src" / PACKAGE / "train.py").write_text(_TRAIN)
    (root / "notebooks").mkdir(exist_ok=True)
    (root / "notebooks" / "train.py").write_text(_NOTEBOOK)
    (root / "resources").mkdir(exist_ok=True)
    (root / "resources" / "training.yml").write_text(_JOB)
    (root / "mlops.yaml").write_text(
        f"project: ship\nmodel: {{name: {model}}}\n"
        "targets:\n  local: {default: true}\n"
        f"  dev:\n    backend: databricks\n    host: {host}\n    workspace_dir: /Shared/ship\n"
        "    compute:\n      job_cluster: {spark_version: 15.4.x-scala2.12, node_type_id: Standard_DS3_v2, "
        "num_workers: 1}\n"
        + (f"    tracking_uri: {tracking_uri}\n" if tracking_uri else "") +
        f"    artifacts: {{path: {artifacts}, toolkit: {toolkit}}}\n"
    )
    return root / "mlops.yaml"
