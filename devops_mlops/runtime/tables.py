"""Which tables the lifecycle writes (the notebooks' runtime).

They go through the target's tables port (``ctx.tables``): Delta through
``deltalake`` on the default engine; Spark tables on the local Spark engine and
inside Databricks notebooks (:mod:`devops_mlops.adapters.spark.tables`).
"""

from __future__ import annotations

from typing import Any

#: the tables the toolkit writes (the project's own tables are named by its code and by
#: ``model.features_table`` / ``model.labels_table`` in mlops.yaml)
PREDICTIONS = "predictions"
METRICS = "metrics"
RETRAIN_ATTEMPTS = "retrain_attempts"


def table_batches(tables, table: str) -> list[int]:
    """The batch ids present in ``table`` ([] when it does not exist)."""
    if not tables.exists(table):
        return []
    frame = tables.read(table, columns=["batch_id"]) if _takes_columns(tables) else tables.read(table)
    return sorted(int(b) for b in frame["batch_id"].unique())


def _takes_columns(tables) -> bool:
    import inspect

    try:
        return "columns" in inspect.signature(tables.read).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False


def tables_for(ctx) -> Any:
    """The target's tables port (Spark tables on the Spark engine and in Databricks notebooks)."""
    return ctx.tables
