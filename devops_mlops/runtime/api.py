"""The runtime API: what a project's notebooks and its own package call on any target.

A notebook opens a session from its ``target`` widget and works through it::

    from devops_mlops.runtime import api

    s = api.session(dbutils.widgets.get("target"))
    s.replace(s.features_table, frame, batches=[7])      # each batch's rows replaced, never appended twice
    rows = s.read(s.features_table, batches=[7])
    result = s.log_model(model, sample=train[inputs], metrics={"rmse": 1.2}, register=True)
    s.gate(result.version)                               # the promotion gate; CheckFailed when it fails

``mlops.yaml`` is found from the working directory upwards (the notebook's
folder locally, the Git folder or synced folder on Databricks), or named with
``config`` / ``MLOPS_CONFIG``. The session is generic: what the tables hold,
how features are built and models trained is the project's own code; the
session knows only the model's contract from mlops.yaml (``model.label``,
``model.keys``, ``model.features_table``, ``model.labels_table``) and the
project's free ``data:`` settings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from ..errors import CheckFailed, ConfigError, InputError

__all__ = [
    "CheckFailed",
    "ConfigError",
    "InputError",
    "Session",
    "TrainResult",
    "compute_metrics",
    "parse_batches",
    "session",
    "widget_or_task_value",
]


@dataclass
class TrainResult:
    """A logged (and maybe registered) model: what a training notebook exits with."""

    run_id: str
    model_uri: str
    metrics: dict[str, float]
    train_batches: list[int]
    eval_batch: int | None
    rows: int
    inputs: list[str]
    version: int | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Session:
    """The target's tables, registry and settings, as one notebook task sees them."""

    def __init__(self, ctx: Any, *, tables: Any = None):
        self.ctx = ctx  # devops_mlops.context.Context
        if tables is not None:
            self.__dict__["tables"] = tables

    # ------------------------------------------------------------------ settings
    @property
    def config(self):
        return self.ctx.config

    @property
    def root(self):
        return self.ctx.root

    @property
    def model_name(self) -> str:
        return self.ctx.config.model.name

    @property
    def label(self) -> str:
        return self.ctx.config.model.label

    @property
    def keys(self) -> list[str]:
        return list(self.ctx.config.model.keys)

    @property
    def features_table(self) -> str:
        return self.ctx.config.model.features_table

    @property
    def labels_table(self) -> str:
        return self.ctx.config.model.labels_table

    @property
    def data(self) -> dict[str, Any]:
        """The project's own ``data:`` settings from mlops.yaml (the toolkit reads none of them)."""
        return dict(self.ctx.config.data or {})

    # ------------------------------------------------------------------ tables
    @cached_property
    def tables(self):
        """The tables port: Spark tables on the local Spark engine and in Databricks notebooks, else Delta."""
        from .tables import tables_for

        return tables_for(self.ctx)

    def batches(self, table: str) -> list[int]:
        """The batch ids present in ``table`` ([] when it does not exist)."""
        from .tables import table_batches

        return table_batches(self.tables, table)

    def read(self, table: str, batches: Iterable[int] | None = None, *, columns: list[str] | None = None):
        """Rows of ``table`` (a pandas DataFrame), only those of ``batches`` when given."""
        where = None if batches is None else {"batch_id": [int(b) for b in batches]}
        return self.tables.read(table, where=where, columns=columns)

    def replace(self, table: str, frame: Any, batches: Iterable[int]) -> None:
        """Write ``frame`` into ``table``, replacing the rows of each of ``batches`` (frame has batch_id)."""
        for b in batches:
            rows = frame[frame["batch_id"] == int(b)] if "batch_id" in frame.columns else frame
            self.tables.replace_where(table, rows, column="batch_id", value=int(b))

    def transform(self, source: str, target: str, fn: Callable[[Any], Any], batches: list[int], *, missing: str):
        """Read ``batches`` of ``source``, apply ``fn``, replace those batches in ``target``;
        ``(rows read, rows written)``. InputError(``missing``) when ``source`` has none of them."""
        rows = self.read(source, batches)
        if len(rows) == 0:
            raise InputError(missing)
        out = fn(rows)
        self.replace(target, out, batches)
        return rows, out

    def labelled_batches(self) -> list[int]:
        """Batches with both feature rows and labels."""
        return sorted(set(self.batches(self.labels_table)) & set(self.batches(self.features_table)))

    def evaluation_frame(self, batch: int | None = None):
        """The labelled rows the gate evaluates on (the project's ``entry_points.evaluation_data``)."""
        from ..kernel.entry_points import call

        return call(self.ctx.config, "evaluation_data", self, batch)

    # ------------------------------------------------------------------ registry
    def mlflow(self):
        """The mlflow module, pointed at the target's tracking and registry URIs and at the project's
        experiment (``/Shared/<project>`` on Databricks, where a job's notebook would otherwise log
        to an experiment of its own path), unless MLFLOW_EXPERIMENT_NAME or _ID names another."""
        self.ctx.registry.activate()
        import mlflow

        if not getattr(self, "_experiment_set", False):
            if not (os.environ.get("MLFLOW_EXPERIMENT_NAME") or os.environ.get("MLFLOW_EXPERIMENT_ID")):
                self.use_project_experiment()
            self._experiment_set = True
        return mlflow

    def use_project_experiment(self) -> str:
        """Make the project's experiment the active one; its name."""
        import mlflow

        mlflow.set_experiment(experiment_id=self.ctx.registry.ensure_experiment(self.experiment_name))
        return self.experiment_name

    @property
    def experiment_name(self) -> str:
        project = self.ctx.config.project
        return f"/Shared/{project}" if self.ctx.target.backend == "databricks" else project

    def log_model(
        self,
        model: Any,
        *,
        sample: Any,
        metrics: dict[str, float],
        params: dict[str, Any] | None = None,
        run_name: str = "train",
        train_batches: list[int] | None = None,
        eval_batch: int | None = None,
        window: tuple[Any, Any] | None = None,
        tags: dict[str, str] | None = None,
        register: bool = False,
    ) -> TrainResult:
        """Log a fitted scikit-learn ``model`` to one MLflow run of the project's experiment: its
        parameters, ``metrics``, the data window and git commit as tags, the model with the signature
        of ``sample`` (its input columns); register it as a new version when asked."""
        from .model_log import log_sklearn_model

        return log_sklearn_model(self, model, sample=sample, metrics=metrics, params=params, run_name=run_name,
                                 train_batches=train_batches or [], eval_batch=eval_batch, window=window,
                                 tags=tags or {}, register=register)

    def register(self, model_uri: str, *, tags: dict[str, str] | None = None) -> int:
        """Register ``model_uri`` as a new version of the configured model; its number."""
        from ..adapters.mlflow_registry import translate

        mlflow = self.mlflow()
        with translate(f"registering model {self.model_name}", self.ctx.registry.registry_uri):
            return int(mlflow.register_model(model_uri, self.model_name, tags=tags or {}).version)

    def gate(self, version: int, *, batch: int | None = None) -> dict[str, Any]:
        """The promotion gate on the evaluation rows of ``batch`` (default: the latest labelled);
        CheckFailed when it fails."""
        from ..ops.model import validate

        result = validate(self.ctx, int(version), self.evaluation_frame(batch))
        if not result.passed:
            raise CheckFailed(f"model {result.model} v{result.version} failed the gate: {result.gate.summary()}")
        return {"stage": "validate", **result.to_dict()}

    def promote(self, version: int, slot: str = "production", *, batch: int | None = None) -> dict[str, Any]:
        """Give ``version`` the slot (gated on the evaluation rows of ``batch``)."""
        from ..ops.model import promote

        result = promote(self.ctx, int(version), slot, eval_frame=self.evaluation_frame(batch))
        return {"stage": "promote", **result.to_dict()}


def session(target: str | None = None, *, config: str | None = None, ctx: Any = None) -> Session:
    """The session of ``target`` (empty or None: the default target)."""
    from ..kernel.libraries import install_task_libraries

    install_task_libraries()  # serverless notebook tasks: what deploy shipped (no-op elsewhere)
    if ctx is None:
        from ..context import Context

        ctx = Context.create(config_path=config or os.environ.get("MLOPS_CONFIG") or None, target=target or None)
    return Session(ctx)


def parse_batches(text: str | int | None, *, history: Iterable[int], existing: Iterable[int]) -> list[int]:
    """Batch selection as widgets give it: '' or 'history' -> ``history``; 'next' -> the one after
    the latest of ``existing`` (``history`` when there is none); 'latest'; 'N'; 'A-B'; 'A,B,C'."""
    text = "" if text is None else str(text).strip()
    have = sorted(existing)
    if text in ("", "history"):
        return list(history)
    if text == "next":
        return [have[-1] + 1] if have else list(history)
    if text == "latest":
        return have[-1:]
    out: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = part.split("-", 1)
                out.extend(range(int(lo), int(hi) + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        raise InputError(f"batches: expected N, A-B, A,B or next/latest/history, got {text!r}") from None
    if any(b < 0 for b in out):
        raise InputError(f"batches: negative batch in {text!r}")
    return sorted(set(out))


def widget_or_task_value(dbutils: Any, name: str, task: str, *, default: str = "") -> str:
    """The widget ``name`` when it is set, else the task value ``name`` that ``task`` set earlier in
    the job run (``dbutils.jobs.taskValues``; ``default`` outside a job)."""
    value = dbutils.widgets.get(name)
    if value:
        return value
    return str(dbutils.jobs.taskValues.get(task, name, default=default, debugValue=default))


def compute_metrics(names: list[str], y_true: Any, y_pred: Any) -> dict[str, float]:
    """The named metrics (rmse, mae, mape, r2, accuracy, f1, roc_auc) of predictions against labels:
    the same definitions the gate and the monitoring use."""
    from ..core.metrics import compute_many

    return compute_many(names, y_true, y_pred)
