"""Which tables the lifecycle writes, and the Spark seam (the notebooks' runtime).

On this machine the tables are the target's tables port (``ctx.tables``: Delta
through ``deltalake``). Inside a Databricks notebook, where a SparkSession is
active, :class:`SparkTables` offers the same small interface over Unity Catalog
(or hive_metastore) tables, ``catalog.schema.table``, written by Spark.
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


def active_spark():
    """The active SparkSession, or None (pyspark missing, or no session)."""
    try:
        from pyspark.sql import SparkSession  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        return SparkSession.getActiveSession()
    except Exception:  # noqa: BLE001 - a broken JVM is no session
        return None


class SparkTables:
    """The tables port over Spark tables (Databricks)."""

    def __init__(self, spark: Any, *, catalog: str | None = None, schema: str | None = None):
        self.spark = spark
        self.prefix = ".".join(p for p in (catalog, schema) if p)

    def location(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def exists(self, name: str) -> bool:
        return bool(self.spark.catalog.tableExists(self.location(name)))

    def read(self, name: str, *, where: dict[str, Any] | None = None, columns: list[str] | None = None):
        import pandas as pd

        if not self.exists(name):
            return pd.DataFrame(columns=columns or [])
        df = self.spark.table(self.location(name))
        for column, value in (where or {}).items():
            df = (
                df.where(df[column].isin(list(value)))
                if isinstance(value, (list, tuple, set))
                else df.where(df[column] == value)
            )
        if columns:
            df = df.select(*columns)
        return df.toPandas()

    def append(self, name: str, frame: Any) -> None:
        self._df(frame).write.format("delta").mode("append").option("mergeSchema", "true").saveAsTable(
            self.location(name)
        )

    def replace_where(self, name: str, frame: Any, *, column: str, value: Any) -> None:
        literal = repr(value) if isinstance(value, (int, float)) else "'" + str(value).replace("'", "''") + "'"
        writer = self._df(frame).write.format("delta").option("mergeSchema", "true")
        if not self.exists(name):
            writer.mode("append").saveAsTable(self.location(name))
            return
        writer.mode("overwrite").option("replaceWhere", f"`{column}` = {literal}").saveAsTable(self.location(name))

    def _df(self, frame: Any):
        return frame if hasattr(frame, "rdd") else self.spark.createDataFrame(frame)


def tables_for(ctx) -> Any:
    """SparkTables inside a Databricks notebook with a session; else the target's tables port."""
    spark = active_spark()
    if spark is not None and ctx.target.backend == "databricks":
        cfg = ctx.target.tables
        return SparkTables(spark, catalog=cfg.catalog, schema=cfg.schema)
    return ctx.tables
