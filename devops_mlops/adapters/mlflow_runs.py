"""The tracking half of the MLflow registry adapter: experiments, training runs, registering a
model URI, loading a model (once per process), a Spark UDF over a version, and copying a
version between registries (promotion across environments).

:class:`MlflowRuns` is a mixin of :class:`~devops_mlops.adapters.mlflow_registry.MlflowRegistry`:
it relies on the registry's ``client``, URIs, ``activate`` and the port's version methods.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Any

from ..ports.registry import LoggedRun, ModelVersion
from .mlflow_errors import translate

#: pyfunc models this process loaded: (registry, name, version, run, source, created) -> model
_LOADED: dict[tuple, Any] = {}
_LOADED_MAX = 8


def trusted_types(model: Any) -> list[str]:
    """The types skops must trust to load the model (it was just trained here)."""
    import io

    import skops.io

    buffer = io.BytesIO()
    skops.io.dump(model, buffer)
    return skops.io.get_untrusted_types(data=buffer.getvalue())


def pip_requirements() -> list[str]:
    """The model's requirements, pinned to what trained it."""
    from importlib.metadata import version

    return [f"{dist}=={version(dist)}" for dist in ("scikit-learn", "pandas", "numpy", "skops", "mlflow")]


class MlflowRuns:
    """Experiments, runs and model files of an MLflow tracking server (see the module docstring)."""

    # provided by the registry class this is mixed into
    tracking_uri: str
    registry_uri: str
    artifact_root: str | None
    client: Any
    activate: Any
    model_uri: Any
    get_version: Any
    set_tags: Any

    # -- experiments and runs -------------------------------------------------------------------
    def ensure_experiment(self, name: str) -> str:
        """The id of experiment ``name``, created (with artifacts under .mlops/ locally) when missing.
        On a Databricks workspace, where an experiment is a workspace path, a plain name lives
        under ``/Shared/``."""
        if self.tracking_uri.split(":", 1)[0] == "databricks" and not name.startswith("/"):
            name = f"/Shared/{name}"
        with translate(f"experiment {name}", self.tracking_uri):
            found = self.client.get_experiment_by_name(name)
            if found is not None:
                return found.experiment_id
            return self.client.create_experiment(name, artifact_location=self.artifact_root)

    def use_experiment(self, name: str) -> str:
        """Make experiment ``name`` the active one of MLflow's fluent API; its id."""
        import mlflow

        self.activate()
        experiment_id = self.ensure_experiment(name)
        with translate(f"experiment {name}", self.tracking_uri):
            mlflow.set_experiment(experiment_id=experiment_id)
        return experiment_id

    def run_tags(self, run_id: str) -> dict[str, str]:
        with translate(f"reading run {run_id}", self.tracking_uri):
            return dict(self.client.get_run(run_id).data.tags)

    def log_training_run(
        self,
        model: Any,
        *,
        sample: Any,
        experiment: str,
        run_name: str,
        params: dict[str, Any],
        metrics: dict[str, float],
        tags: dict[str, str],
    ) -> LoggedRun:
        """One run: parameters, metrics, tags, and the model saved with skops, its requirements
        pinned, and the signature of the first 50 rows of ``sample`` with a float prediction."""
        import mlflow
        import mlflow.sklearn
        import numpy as np
        from mlflow.models import infer_signature

        from ..kernel.threads import threads_for

        self.use_experiment(experiment)
        with translate(f"logging run {run_name} of {experiment}", self.tracking_uri):
            with mlflow.start_run(run_name=run_name, tags=tags) as run:
                mlflow.log_params(params)
                mlflow.log_metrics(metrics)
                head = sample.head(50)
                with threads_for(len(head)):
                    signature = infer_signature(head, np.asarray(model.predict(head), dtype="float64").reshape(-1))
                info = mlflow.sklearn.log_model(
                    model,
                    name="model",
                    signature=signature,
                    skops_trusted_types=trusted_types(model),
                    # explicit: MLflow's inference of them starts a subprocess that loads the model (~10 s)
                    pip_requirements=pip_requirements(),
                )
        return LoggedRun(run.info.run_id, info.model_uri)

    def log_sklearn_model(
        self,
        model: Any,
        name: str,
        *,
        X: Any,
        metrics: dict[str, float] | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        experiment: str | None = None,
    ) -> ModelVersion:
        """Log a fitted scikit-learn model in a new run and register it as a new version of ``name``
        (tests and benchmarks seed registries with it)."""
        import mlflow
        import mlflow.sklearn
        from mlflow.models import infer_signature

        self.activate()
        experiment_id = self.ensure_experiment(experiment or f"mlops-{name}")
        with translate(f"registering model {name}", self.registry_uri):
            with mlflow.start_run(experiment_id=experiment_id):
                if metrics:
                    mlflow.log_metrics(metrics)
                if params:
                    mlflow.log_params(params)
                if tags:
                    mlflow.set_tags(tags)
                info = mlflow.sklearn.log_model(
                    model,
                    name="model",
                    signature=infer_signature(X, model.predict(X)),
                    pip_requirements=["scikit-learn", "pandas"],
                )
            mv = mlflow.register_model(info.model_uri, name)
        return self.get_version(name, int(mv.version))

    def register(self, model_uri: str, name: str, tags: dict[str, str] | None = None) -> int:
        import mlflow

        self.activate()
        with translate(f"registering model {name}", self.registry_uri):
            return int(mlflow.register_model(model_uri, name, tags=tags or {}).version)

    # -- models --------------------------------------------------------------------------------
    def load_model(self, model: str, version: int | None = None) -> Any:
        """A registered version is loaded once per process: its files never change, and a load
        costs seconds (skops checks every type of the model). The cache is keyed by the version's
        run and source, so a registry re-created under the same URI (the lifecycle's clean start)
        never serves an old model. A bare URI is loaded each time."""
        import mlflow.pyfunc

        self.activate()
        if version is None:
            with translate(f"loading model {model}", self.registry_uri):
                # suppress_warnings skips a scan of every installed package (~1.5 s) for a requirements warning
                return mlflow.pyfunc.load_model(model, suppress_warnings=True)
        with translate(f"loading model {model} version {version}", self.registry_uri):
            mv = self.client.get_model_version(model, str(version))
            key = (self.registry_uri, model, int(version), mv.run_id, mv.source, mv.creation_timestamp)
            if key not in _LOADED:
                _LOADED[key] = mlflow.pyfunc.load_model(self.model_uri(model, version), suppress_warnings=True)
                while len(_LOADED) > _LOADED_MAX:
                    _LOADED.pop(next(iter(_LOADED)))
            return _LOADED[key]

    def spark_udf(self, spark: Any, name: str, version: int, result_type: str = "double") -> Any:
        """``mlflow.pyfunc.spark_udf`` of the version, run in the engine's own Python (the one the
        model was trained in: ``env_manager="local"``), MLflow's warning about that silenced."""
        import mlflow.pyfunc

        self.activate()
        log = logging.getLogger("mlflow.pyfunc")
        level = log.level
        log.setLevel(logging.ERROR)
        try:
            with translate(f"loading model {name} version {version}", self.registry_uri):
                return mlflow.pyfunc.spark_udf(spark, self.model_uri(name, version), result_type=result_type,
                                               env_manager="local")
        finally:
            log.setLevel(level)

    # -- copying a version between registries (promotion across environments) -------------------
    def same_store(self, other: "MlflowRuns") -> bool:
        """Both are Unity Catalog registries: one metastore, whose catalogs this workspace can
        read (``databricks-uc``; a workspace that cannot see the other catalog answers
        PERMISSION_DENIED or RESOURCE_DOES_NOT_EXIST, reported as such)."""
        return self.registry_uri.split(":", 1)[0] == other.registry_uri.split(":", 1)[0] == "databricks-uc"

    def copy_within(self, source: "MlflowRuns", name: str, version: int, dst_name: str,
                    tags: dict[str, str]) -> int:
        """``copy_model_version`` of ``name``/``version`` into ``dst_name`` of this registry; the new version."""
        with translate(f"copying {name} version {version} to {dst_name}", self.registry_uri):
            mv = self.client.copy_model_version(f"models:/{name}/{version}", dst_name)
        self.set_tags(dst_name, int(mv.version), tags)
        return int(mv.version)

    def download(self, name: str, version: int, dst: str) -> str:
        """The files of ``name``/``version`` into folder ``dst``; the folder that holds MLmodel."""
        import mlflow.artifacts

        self.activate()  # a models:/ URI resolves through the process's registry (Unity Catalog: its own
        # artifact repository; the version's storage location is a cloud URI only the service reads)
        with translate(f"downloading {name} version {version}", self.registry_uri):
            return mlflow.artifacts.download_artifacts(artifact_uri=self.model_uri(name, version), dst_path=dst)

    def register_files(self, folder: str, name: str, tags: dict[str, str], *,
                       experiment: str) -> int:
        """Log ``folder`` (a model's files) in a new run of ``experiment`` and register it as ``name``."""
        import mlflow

        self.activate()
        experiment_id = self.ensure_experiment(experiment)
        # mlflow prints the run's links on stdout when a run ends: stdout is our result's (JSON)
        with translate(f"registering a copy as {name}", self.registry_uri), \
                contextlib.redirect_stdout(sys.stderr):
            with mlflow.start_run(experiment_id=experiment_id, tags=tags) as run:
                mlflow.log_artifacts(folder, "model")
            mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", name, tags=tags)
        return int(mv.version)
