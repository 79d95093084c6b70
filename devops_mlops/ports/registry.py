"""Model registry port: registered models and their versions, the slots (staging, production)
a version holds, tags, and the tracking side the use cases and notebooks need (experiments,
training runs, loading a model). MLflow implements it (adapters/mlflow_registry.py); the
in-memory fake is devops_mlops/testing/fakes/registry.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class ModelVersion:
    """One registered version as the use cases see it."""

    name: str
    version: int
    run_id: str | None
    source: str | None
    aliases: list[str] = field(default_factory=list)
    stage: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    created_at: int | None = None  # epoch ms


@dataclass
class LoggedRun:
    """A training run just logged: its id and the URI of the model it holds (``runs:/<id>/model``)."""

    run_id: str
    model_uri: str


class Registry(Protocol):
    """What every registry adapter offers. Errors of the store become ServiceError (exit 2)."""

    #: where the registry is (a URI, for messages)
    registry_uri: str

    def get_model(self, name: str, *, with_metrics: bool = True) -> list[ModelVersion]:
        """All versions, oldest first; ServiceError (exit 2) when the model is unknown.
        ``with_metrics``: also read each version's run metrics (slower on a remote store)."""

    def get_version(self, name: str, version: int, *, with_metrics: bool = True) -> ModelVersion: ...

    def holder(self, name: str, slot: str) -> ModelVersion | None:
        """Who holds ``slot`` ('staging' | 'production') under the configured scheme."""

    def assign(self, name: str, slot: str, version: int) -> None:
        """Give ``slot`` to ``version`` (alias set, or stage transition archiving the old holder)."""

    def unassign(self, name: str, slot: str, version: int) -> None:
        """Take ``slot`` from ``version`` (alias deleted, or the version's stage set back to None)."""

    def set_tags(self, name: str, version: int, tags: dict[str, str]) -> None: ...

    def model_tags(self, name: str) -> dict[str, str]:
        """The tags of the registered model itself (not of a version)."""

    def set_model_tag(self, name: str, key: str, value: str) -> None: ...

    def delete_model_tag(self, name: str, key: str) -> None: ...

    def model_uri(self, name: str, version: int) -> str: ...

    # -- tracking: experiments, runs, models -----------------------------------------------------
    def load_model(self, model: str, version: int | None = None) -> Any:
        """A pyfunc model (``predict(frame)``, ``metadata``): registered version ``version`` of
        model ``model``, or, without a version, whatever model URI ``model`` is (``runs:/…``,
        ``models:/…``)."""

    def spark_udf(self, spark: Any, name: str, version: int, result_type: str = "double") -> Any:
        """A Spark UDF that scores a struct of the model's input columns with version ``version``
        (batch inference on Spark tables); ServiceError from a registry that cannot build one."""

    def run_tags(self, run_id: str) -> dict[str, str]:
        """The tags of a tracking run."""

    def register(self, model_uri: str, name: str, tags: dict[str, str] | None = None) -> int:
        """Register ``model_uri`` as a new version of ``name`` (created when missing); its number."""

    def open(self) -> None:
        """Connect to the store now (a new local store creates its tables): work a later step would
        otherwise pay for, done ahead on an idle core (ops/ahead.py)."""

    def activate(self) -> None:
        """Point this process's MLflow fluent API at this registry, for a notebook's own MLflow calls
        (``runtime.api.Session.mlflow``)."""

    def ensure_experiment(self, name: str) -> str:
        """The id of experiment ``name``, created when missing."""

    def use_experiment(self, name: str) -> str:
        """Make experiment ``name`` (created when missing) the one new runs log to; its id."""

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
        """Log a fitted scikit-learn ``model`` in a new run of ``experiment`` (made the active
        one): ``params``, ``metrics``, ``tags``, and the model with the input signature of
        ``sample`` (a pandas frame) and a float prediction."""
