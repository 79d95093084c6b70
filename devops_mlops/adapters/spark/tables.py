"""Tables port through Spark: the Databricks target and the local Spark engine.

Two ways to name a table:

- in a catalog (``catalog.schema.table``, Databricks notebooks): Delta tables,
  ``saveAsTable`` to append, ``replaceWhere`` to replace one batch;
- under a folder (``<root>/<name>``, the local engine): Delta the same way when
  the Delta connector is on the classpath; otherwise parquet tables with the same
  schema and the same semantics. A parquet table is a folder holding snapshots
  (each a parquet directory Spark wrote) and a ``_current`` file naming the live
  one: ``append`` adds files to the live snapshot, ``replace_where`` writes the
  table minus the batch plus the new rows as a new snapshot and switches
  ``_current`` to it with one rename, so a reader sees the old rows or the new
  ones, never half of each. Writers on this machine take a per-table file lock.

Rows come in as pandas frames or pyarrow tables (or Spark DataFrames) and are
read back as pandas frames. New columns are merged in; a column that cannot be
cast to the table's type is refused (InputError).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import ConfigError, InputError, ServiceError
from ..local.tables import DeltaTables, _quote_column, _sql_literal, to_arrow
from . import engine

CURRENT = "_current"


class SparkTables:
    """The tables port over Spark (see the module docstring)."""

    def __init__(self, spark: Any, *, catalog: str | None = None, schema: str | None = None,
                 root: str | Path | None = None, delta: bool | None = None):
        self.spark = spark
        self.catalog, self.schema = catalog, schema
        self.root = str(root).rstrip("/") if root is not None else None
        # Delta on Databricks and wherever the connector is loaded; parquet elsewhere
        if delta is None:
            delta = (engine.in_databricks() and not engine.is_engine(spark)) or engine.delta_available(spark)
        self.format = "delta" if delta else "parquet"

    # -- naming ---------------------------------------------------------------------------
    def location(self, name: str) -> str:
        if self.root is not None:
            return DeltaTables(self.root).location(name)  # same name rules as the deltalake adapter
        if "." in name:
            return name
        return ".".join([p for p in (self.catalog, self.schema) if p] + [name])

    def _fail(self, name: str, exc: Exception) -> ServiceError:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        hint = None if self.root else "check the catalog/schema exist and the job's identity may use and modify them"
        return ServiceError(f"table {self.location(name)}: {first}", hint=hint)

    def _snapshot(self, name: str) -> Path | None:
        pointer = Path(self.location(name)) / CURRENT
        if not pointer.is_file():
            return None
        return pointer.parent / pointer.read_text(encoding="utf-8").strip()

    def exists(self, name: str) -> bool:
        try:
            if self.format == "parquet" and self.root is not None:
                return self._snapshot(name) is not None
            if self.root is not None:
                return (Path(self.location(name)) / "_delta_log").is_dir()
            return bool(self.spark.catalog.tableExists(self.location(name)))
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - Spark errors, translated
            raise self._fail(name, exc) from None

    # -- reading --------------------------------------------------------------------------
    def frame(self, name: str):
        """The table as a Spark DataFrame (None when it does not exist)."""
        if not self.exists(name):
            return None
        if self.format == "parquet" and self.root is not None:
            return self.spark.read.option("mergeSchema", "true").parquet(str(self._snapshot(name)))
        if self.root is not None:
            return self.spark.read.format("delta").load(self.location(name))
        return self.spark.table(self.location(name))

    def read(self, name: str, *, where: dict[str, Any] | None = None, columns: list[str] | None = None):
        import pandas as pd

        df = self.frame(name)
        if df is None:
            return pd.DataFrame(columns=columns or [])
        try:
            for column, value in (where or {}).items():
                if column not in df.columns:
                    raise InputError(
                        f"table {self.location(name)} has no column {column!r} (columns: {', '.join(df.columns)})"
                    )
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

    # -- writing --------------------------------------------------------------------------
    def to_spark(self, frame: Any, existing: Any = None):
        """``frame`` as a Spark DataFrame, its columns cast to the ``existing`` schema's types."""
        from pyspark.sql import functions as F  # type: ignore[import-not-found]
        from pyspark.sql.types import NullType  # type: ignore[import-not-found]

        df = frame if hasattr(frame, "sparkSession") else self.spark.createDataFrame(to_arrow(frame))
        types = {f.name: f.dataType for f in (existing.schema.fields if existing is not None else [])}
        out = []
        for field in df.schema.fields:
            want = types.get(field.name)
            if want is None and isinstance(field.dataType, NullType):
                want = "string"
            out.append(F.col(_quote_column(field.name)).cast(want).alias(field.name) if want is not None
                       and want != field.dataType else F.col(_quote_column(field.name)))
        return df.select(*out)

    @contextlib.contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        if self.root is None:
            yield
            return
        import fcntl

        Path(self.root).mkdir(parents=True, exist_ok=True)
        with open(Path(self.root) / f".{name}.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _write(self, name: str, frame: Any, *, column: str | None = None, value: Any = None) -> None:
        with self._lock(name):
            existing = self.frame(name)
            try:
                rows = self.to_spark(frame, existing)
                if self.format == "parquet":
                    self._write_parquet(name, rows, existing, column, value)
                    return
                writer = rows.write.format("delta").option("mergeSchema", "true")
                if column is not None and existing is not None:
                    predicate = f"{_quote_column(column)} = {_sql_literal(value)}"
                    writer = writer.mode("overwrite").option("replaceWhere", predicate)
                else:
                    writer = writer.mode("append")
                if self.root is not None:
                    writer.save(self.location(name))
                else:
                    writer.saveAsTable(self.location(name))
            except InputError:
                raise
            except Exception as exc:  # noqa: BLE001 - Spark errors, translated
                if "CAST" in str(exc).upper() and ("INVALID" in str(exc).upper() or "OVERFLOW" in str(exc).upper()):
                    raise InputError(f"table {self.location(name)}: the new rows do not fit the table's column types: "
                                     f"{(str(exc).strip().splitlines() or [''])[0]}") from None
                raise self._fail(name, exc) from None

    def _write_parquet(self, name: str, rows: Any, existing: Any, column: str | None, value: Any) -> None:
        from pyspark.sql import functions as F  # type: ignore[import-not-found]

        if existing is not None and column is None:
            if self.root is None:
                rows.write.format("parquet").mode("append").option("mergeSchema", "true").saveAsTable(self.location(name))
            else:
                rows.write.mode("append").parquet(str(self._snapshot(name)))
            return
        if existing is not None:
            kept = existing.filter(~F.col(_quote_column(column)).eqNullSafe(F.lit(value)))
            rows = kept.unionByName(rows, allowMissingColumns=True)
        if self.root is None:  # a catalog without Delta: the whole table again (not atomic)
            rows.localCheckpoint().write.format("parquet").mode("overwrite").saveAsTable(self.location(name))
            return
        folder = Path(self.location(name))
        snapshot = f"v-{uuid.uuid4().hex[:12]}"
        rows.write.mode("error").parquet(str(folder / snapshot))
        old = self._snapshot(name)
        tmp = folder / f".{CURRENT}.{os.getpid()}.tmp"
        tmp.write_text(snapshot, encoding="utf-8")
        os.replace(tmp, folder / CURRENT)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def append(self, name: str, frame: Any) -> None:
        if _length(frame) == 0 and self.exists(name):
            return
        self._write(name, frame)

    def replace_where(self, name: str, frame: Any, *, column: str, value: Any) -> None:
        """Replace the rows where ``column == value`` with ``frame``, atomically."""
        names = frame.columns if hasattr(frame, "columns") else frame.column_names
        if column not in list(names):
            raise InputError(f"table {name}: the new rows have no column {column!r}")
        _sql_literal(value)  # refuses None
        self._write(name, frame, column=column, value=value)


def _length(frame: Any) -> int:
    if hasattr(frame, "sparkSession"):
        return frame.limit(1).count()
    return len(frame)


def from_context(ctx):
    """The tables of ``ctx``'s target: Spark tables on the local Spark engine (under
    ``tables.path``, default ``.mlops/spark-tables``) and inside a Databricks runtime
    (``DATABRICKS_RUNTIME_VERSION`` set: in the catalog); on a Databricks target elsewhere
    (a pipeline agent), ``deltalake`` at ``tables.path``."""
    cfg = ctx.target.tables
    if ctx.target.backend == "local":
        root = cfg.path or str(ctx.state_dir / "spark-tables")
        if "://" not in root and not os.path.isabs(root):
            root = str(ctx.root / root)
        return SparkTables(engine.session(), root=root)
    spark = engine.active() if engine.in_databricks() else None
    if spark is not None and (cfg.catalog or cfg.schema or not cfg.path):
        return SparkTables(spark, catalog=cfg.catalog, schema=cfg.schema)
    if not cfg.path:
        raise ConfigError(
            f"target {ctx.target.name!r}: outside a Databricks notebook the tables need tables.path "
            "(an abfss:// root) and tables.storage_options",
            path=ctx.config.path,
        )
    return DeltaTables(cfg.path, storage_options=cfg.storage_options or None)
