"""Tables port on a Databricks target.

- Inside a Databricks notebook (a SparkSession is active): Spark Delta tables
  ``catalog.schema.table`` (``saveAsTable``; ``replaceWhere`` for a batch).
- Elsewhere (a pipeline agent): ``deltalake`` at the target's ``tables.path``
  (an ``abfss://`` root, credentials in ``tables.storage_options``), the same
  implementation as the local backend.
"""

from __future__ import annotations

from typing import Any

from ...errors import ConfigError, InputError, ServiceError
from ..local.tables import DeltaTables, _quote_column, _sql_literal


def active_spark():
    """The active SparkSession, or None (pyspark absent or no session)."""
    try:
        from pyspark.sql import SparkSession  # type: ignore[import-not-found]
    except ImportError:
        return None
    return SparkSession.getActiveSession()


class SparkTables:
    """Delta tables through Spark, named ``catalog.schema.table`` (or ``schema.table``)."""

    def __init__(self, spark: Any, *, catalog: str | None, schema: str | None):
        self.spark = spark
        self.catalog = catalog
        self.schema = schema

    def location(self, name: str) -> str:
        if "." in name:
            return name
        parts = [p for p in (self.catalog, self.schema) if p]
        return ".".join(parts + [name])

    def _fail(self, name: str, exc: Exception) -> ServiceError:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return ServiceError(
            f"table {self.location(name)}: {first}",
            hint="check the catalog/schema exist and the job's identity may use and modify them",
        )

    def exists(self, name: str) -> bool:
        try:
            return bool(self.spark.catalog.tableExists(self.location(name)))
        except Exception as exc:  # noqa: BLE001 - Spark errors, translated
            raise self._fail(name, exc) from None

    def read(self, name: str, *, where: dict[str, Any] | None = None, columns: list[str] | None = None):
        import pandas as pd

        if not self.exists(name):
            return pd.DataFrame(columns=columns or [])
        try:
            df = self.spark.table(self.location(name))
            for column, value in (where or {}).items():
                if column not in df.columns:
                    raise InputError(f"table {self.location(name)} has no column {column!r}")
                if value is None:
                    df = df.filter(df[column].isNull())
                elif isinstance(value, (list, tuple, set, frozenset)):
                    df = df.filter(df[column].isin(list(value)))
                else:
                    df = df.filter(df[column] == value)
            if columns:
                df = df.select(*columns)
            return df.toPandas()
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - Spark errors, translated
            raise self._fail(name, exc) from None

    def _save(self, name: str, frame: Any, mode: str, replace_where: str | None = None) -> None:
        try:
            writer = self.spark.createDataFrame(frame).write.format("delta").option("mergeSchema", "true").mode(mode)
            if replace_where is not None:
                writer = writer.option("replaceWhere", replace_where)
            writer.saveAsTable(self.location(name))
        except Exception as exc:  # noqa: BLE001 - Spark errors, translated
            raise self._fail(name, exc) from None

    def append(self, name: str, frame: Any) -> None:
        if len(frame) == 0 and self.exists(name):
            return
        self._save(name, frame, "append")

    def replace_where(self, name: str, frame: Any, *, column: str, value: Any) -> None:
        if not self.exists(name):
            self._save(name, frame, "append")
            return
        self._save(name, frame, "overwrite", f"{_quote_column(column)} = {_sql_literal(value)}")


def from_context(ctx):
    cfg = ctx.target.tables
    spark = active_spark()
    if spark is not None and (cfg.catalog or cfg.schema or not cfg.path):
        return SparkTables(spark, catalog=cfg.catalog, schema=cfg.schema)
    if not cfg.path:
        raise ConfigError(
            f"target {ctx.target.name!r}: outside a Databricks notebook the tables need tables.path "
            "(an abfss:// root) and tables.storage_options",
            path=ctx.config.path,
        )
    return DeltaTables(cfg.path, storage_options=cfg.storage_options or None)
