"""The training session: a target's tables, registry and model settings as project code sees them.

The toolkit hands a :class:`Session` to the project's own functions (``entry_points:``
in mlops.yaml: ingest, train, retrain, evaluation_data, scenario), and the notebook
API (:mod:`devops_mlops.runtime.api`) gives notebooks the same object. It knows the
model's contract from mlops.yaml (``model.label``, ``model.keys``,
``model.features_table``, ``model.labels_table``) and the project's free ``data:``
settings; what the tables hold and how models are trained is the project's code.

Every outside system is reached through the context's ports (``ctx.tables``,
``ctx.registry``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..errors import CheckFailed, InputError
from .tables import table_batches

if TYPE_CHECKING:
    from ..config import Config
    from ..context import Context
    from .model_log import TrainResult


class Session:
    """The target's tables, registry and settings, as one notebook task or entry point sees them."""

    def __init__(self, ctx: Context, *, tables: Any = None):
        self.ctx = ctx
        if tables is not None:
            self.__dict__["tables"] = tables

    # ------------------------------------------------------------------ settings
    @property
    def config(self) -> Config:
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
    def tables(self) -> Any:
        """The tables port: Spark tables on the local Spark engine and in Databricks notebooks, else Delta."""
        return self.ctx.tables

    def batches(self, table: str) -> list[int]:
        """The batch ids present in ``table`` ([] when it does not exist)."""
        return table_batches(self.tables, table)

    def read(self, table: str, batches: Iterable[int] | None = None, *, columns: list[str] | None = None) -> Any:
        """Rows of ``table`` (a pandas DataFrame), only those of ``batches`` when given."""
        where = None if batches is None else {"batch_id": [int(b) for b in batches]}
        return self.tables.read(table, where=where, columns=columns)

    def replace(self, table: str, frame: Any, batches: Iterable[int]) -> None:
        """Write ``frame`` into ``table``, replacing the rows of each of ``batches`` (frame has batch_id)."""
        for b in batches:
            rows = frame[frame["batch_id"] == int(b)] if "batch_id" in frame.columns else frame
            self.tables.replace_where(table, rows, column="batch_id", value=int(b))

    def transform(self, source: str, target: str, fn: Callable[[Any], Any], batches: list[int], *,
                  missing: str) -> tuple[Any, Any]:
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

    def evaluation_frame(self, batch: int | None = None) -> Any:
        """The labelled rows the gate evaluates on (the project's ``entry_points.evaluation_data``)."""
        from ..kernel.entry_points import call

        return call(self.ctx.config, "evaluation_data", self, batch)

    # ------------------------------------------------------------------ registry
    @property
    def experiment_name(self) -> str:
        """The project's experiment: ``/Shared/<project>`` on Databricks, the project's name elsewhere."""
        project = self.ctx.config.project
        return f"/Shared/{project}" if self.ctx.target.backend == "databricks" else project

    def use_project_experiment(self) -> str:
        """Make the project's experiment the active one; its name."""
        self.ctx.registry.use_experiment(self.experiment_name)
        return self.experiment_name

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
        """Log a fitted scikit-learn ``model`` to one run of the project's experiment: its
        parameters, ``metrics``, the data window and git commit as tags, the model with the signature
        of ``sample`` (its input columns); register it as a new version when asked."""
        from .model_log import log_sklearn_model

        return log_sklearn_model(self, model, sample=sample, metrics=metrics, params=params, run_name=run_name,
                                 train_batches=train_batches or [], eval_batch=eval_batch, window=window,
                                 tags=tags or {}, register=register)

    def register(self, model_uri: str, *, tags: dict[str, str] | None = None) -> int:
        """Register ``model_uri`` as a new version of the configured model; its number."""
        return self.ctx.registry.register(model_uri, self.model_name, tags or {})

    def gate(self, version: int, *, batch: int | None = None) -> dict[str, Any]:
        """The promotion gate on the evaluation rows of ``batch`` (default: the latest labelled);
        CheckFailed when it fails."""
        from .model import validate

        result = validate(self.ctx, int(version), self.evaluation_frame(batch))
        if not result.passed:
            raise CheckFailed(f"model {result.model} v{result.version} failed the gate: {result.gate.summary()}")
        return {"stage": "validate", **result.to_dict()}

    def promote(self, version: int, slot: str = "production", *, batch: int | None = None) -> dict[str, Any]:
        """Give ``version`` the slot (gated on the evaluation rows of ``batch``)."""
        from .model import promote

        result = promote(self.ctx, int(version), slot, eval_frame=self.evaluation_frame(batch))
        return {"stage": "promote", **result.to_dict()}
