"""The tables the lifecycle writes, and the batches a table holds.

Every use case reaches tables through the target's tables port (``ctx.tables``):
Delta through ``deltalake`` on the default engine, Spark tables on the local Spark
engine and inside Databricks notebooks. The project's own tables are named by its
code and by ``model.features_table`` / ``model.labels_table`` in mlops.yaml; the
names below are the toolkit's.
"""

from __future__ import annotations

from typing import Any

#: batch inference's output: one row per key and batch, with the version that scored it
PREDICTIONS = "predictions"
#: monitoring metrics, long format: one row per window and metric
METRICS = "metrics"
#: the retrain loop's append-only event log (see :mod:`devops_mlops.core.retrain_loop`)
RETRAIN_ATTEMPTS = "retrain_attempts"


def table_batches(tables: Any, table: str) -> list[int]:
    """The batch ids present in ``table`` of the tables port ``tables``, ascending ([] when the
    table does not exist)."""
    if not tables.exists(table):
        return []
    frame = tables.read(table, columns=["batch_id"])
    return sorted(int(b) for b in frame["batch_id"].unique())
