"""Tables port through Spark: the Databricks target and the local Spark engine.

Two ways to name a table:

- in a catalog (``catalog.schema.table``, Databricks notebooks): Delta tables,
  ``saveAsTable`` to append, ``replaceWhere`` to replace one batch;
- under a folder (``<root>/<name>``, the local engine): Delta the same way when
  the Delta connector is on the classpath; otherwise parquet tables with the same
  schema and the same semantics. A parquet table is a folder holding snapshots
  (each a parquet directory Spark wrote) and a ``_current`` file naming the live
  one and its schema (so a read infers nothing): ``append`` adds files to the
  live snapshot (or, with new columns, writes a new one), ``replace_where``
  writes the table minus the batch plus the new rows as a new snapshot and
  switches ``_current`` to it with one rename, so a reader sees the old rows or
  the new ones, never half of each. Writers on this machine take a per-table lock.

Rows come in as pandas frames or pyarrow tables (or Spark DataFrames) and are
read back as pandas frames. New columns are merged in; a column that cannot be
cast to the table's type is refused (InputError).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import ConfigError, InputError, ServiceError
from ...files.lock import file_lock
from ..local.tables import DeltaTables, _quote_column, _sql_literal, to_arrow
from ...kernel import spark as engine

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

    def _current(self, name: str) -> dict | None:
        """A parquet folder table's live snapshot and schema: {"snapshot", "schema"} (None: no table)."""
        pointer = Path(self.location(name)) / CURRENT
        if not pointer.is_file():
            return None
        return json.loads(pointer.read_text(encoding="utf-8"))

    def _snapshot(self, name: str) -> Path | None:
        current = self._current(name)
        return None if current is None else Path(self.location(name)) / current["snapshot"]

    def exists(self, name: str) -> bool:
        try:
            if self.format == "parquet" and self.root is not None:
                return self._current(name) is not None
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
        if self.format == "parquet" and self.root is not None:
            current = self._current(name)
            if current is None:
                return None
            from pyspark.sql.types import StructType  # type: ignore[import-not-found]

            # the schema is stored with the snapshot: reading needs no schema inference
            schema = StructType.fromJson(current["schema"])
            return self.spark.read.schema(schema).parquet(str(Path(self.location(name)) / current["snapshot"]))
        if not self.exists(name):
            return None
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
            return self._to_pandas(df)
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - Spark errors, translated
            raise self._fail(name, exc) from None

    def read_chunks(self, name: str, *, where: dict[str, Any] | None = None, columns: list[str] | None = None,
                    chunk_rows: int) -> Iterator[Any]:
        """The rows read at once through Spark, then sliced."""
        df = self.frame(name)
        if df is None:
            return
        cols = None if columns is None else [c for c in dict.fromkeys(columns) if c in df.columns]
        frame = self.read(name, where=where, columns=cols)
        for start in range(0, len(frame), chunk_rows):
            yield frame.iloc[start : start + chunk_rows]

    def score_into(self, source: str, target: str, udf: Any, *, batch: int, keys: list[str],
                   inputs: list[str] | None, constants: dict[str, Any]) -> int:
        """Score one batch where the rows are (see :class:`~devops_mlops.ports.tables.SparkScoring`):
        integer constants are stored as longs, the batch replaced in one write."""
        from pyspark.sql import functions as F  # type: ignore[import-not-found]

        features = self.frame(source)
        if features is None:
            raise InputError(f"table {self.location(source)} does not exist")
        inputs = inputs or [c for c in features.columns if c not in keys + ["batch_id"]]
        fixed = [
            (F.lit(v).cast("long") if isinstance(v, int) and not isinstance(v, bool) else F.lit(v)).alias(k)
            for k, v in constants.items()
        ]
        scored = features.where(F.col("batch_id") == batch).select(
            *keys,
            udf(F.struct(*[F.col(c) for c in inputs])).alias("prediction"),
            *fixed,
            F.current_timestamp().alias("scored_at"),
            F.col("batch_id").cast("long").alias("batch_id"),
        )
        self.replace_where(target, scored, column="batch_id", value=int(batch))
        return self.frame(target).where(F.col("batch_id") == batch).count()

    def _to_pandas(self, df: Any):
        """``df.toPandas()`` with Spark's timestamps (instants) as UTC-aware columns, as Delta gives them."""
        from pyspark.sql.types import TimestampType  # type: ignore[import-not-found]

        frame = df.toPandas()
        stamps = [f.name for f in df.schema.fields if isinstance(f.dataType, TimestampType)]
        if stamps:
            zone = self.spark.conf.get("spark.sql.session.timeZone") or "UTC"
            for name in stamps:
                if getattr(frame[name].dt, "tz", None) is None:
                    frame[name] = frame[name].dt.tz_localize(zone).dt.tz_convert("UTC")
        return frame

    # -- writing --------------------------------------------------------------------------
    def to_spark(self, frame: Any, existing: Any = None):
        """``frame`` as a Spark DataFrame with the ``existing`` schema's columns first, in order and
        cast to their types (absent ones null), then its own new columns."""
        from pyspark.sql import functions as F  # type: ignore[import-not-found]
        from pyspark.sql.types import NullType  # type: ignore[import-not-found]

        df = frame if hasattr(frame, "sparkSession") else self.spark.createDataFrame(to_arrow(frame))
        have = {f.name: f.dataType for f in df.schema.fields}
        out = []
        for field in existing.fields if existing is not None else []:
            if field.name not in have:
                out.append(F.lit(None).cast(field.dataType).alias(field.name))
            elif have[field.name] != field.dataType:
                out.append(F.col(_quote_column(field.name)).cast(field.dataType).alias(field.name))
            else:
                out.append(F.col(_quote_column(field.name)))
        known = {f.name for f in existing.fields} if existing is not None else set()
        for name, kind in have.items():
            if name not in known:
                col = F.col(_quote_column(name))
                out.append(col.cast("string").alias(name) if isinstance(kind, NullType) else col)
        return df.select(*out)

    @contextlib.contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        if self.root is None:
            yield
            return
        with file_lock(Path(self.root) / f".{name}.lock"):
            yield

    def _write(self, name: str, frame: Any, *, column: str | None = None, value: Any = None) -> None:
        with self._lock(name):
            existing = self.frame(name)
            try:
                rows = self.to_spark(frame, existing.schema if existing is not None else None)
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

        same_schema = existing is not None and _shape(rows.schema) == _shape(existing.schema)
        if same_schema and column is None:  # no new column: the files join the live snapshot
            if self.root is None:
                rows.write.format("parquet").mode("append").saveAsTable(self.location(name))
            else:
                rows.write.mode("append").parquet(str(self._snapshot(name)))
            return
        if existing is not None and column is not None:
            existing = existing.filter(~F.col(_quote_column(column)).eqNullSafe(F.lit(value)))
        if existing is not None:
            rows = existing.unionByName(rows, allowMissingColumns=True)
        if self.root is None:  # a catalog without Delta: the whole table again (not atomic)
            rows.localCheckpoint().write.format("parquet").mode("overwrite").saveAsTable(self.location(name))
            return
        folder = Path(self.location(name))
        snapshot = f"v-{uuid.uuid4().hex[:12]}"
        rows.write.mode("error").parquet(str(folder / snapshot))
        old = self._snapshot(name)
        tmp = folder / f".{CURRENT}.{os.getpid()}.tmp"
        schema = {**rows.schema.jsonValue()}  # every column nullable: later rows may lack it
        schema["fields"] = [{**f, "nullable": True} for f in schema["fields"]]
        tmp.write_text(json.dumps({"snapshot": snapshot, "schema": schema}), encoding="utf-8")
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


def _shape(schema: Any) -> list[tuple[str, Any]]:
    return [(f.name, f.dataType) for f in schema.fields]


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
