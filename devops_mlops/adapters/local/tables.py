"""Tables port over Delta tables written with ``deltalake`` (no Spark).

Locally the tables live under ``.mlops/tables/<name>``; the Databricks adapter
reuses :class:`DeltaTables` with an ``abfss://`` root and storage options.

Safety:
- schema evolution: new columns are merged in; a column whose values cannot be
  cast to the table's type without loss is refused (InputError) instead of
  being silently truncated;
- concurrency: writers on this machine take a per-table file lock, and every
  writer retries a commit that lost Delta's optimistic-concurrency race, so two
  writers at once never corrupt a table or lose a write;
- ``replace_where`` is one Delta transaction (a predicate overwrite).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import InputError, ServiceError
from ...files.lock import file_lock

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
COMMIT_RETRIES = 30


def _sql_literal(value: Any) -> str:
    if value is None:
        raise InputError("replace_where: the value cannot be null")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, _dt.datetime):
        return f"'{value.isoformat(sep=' ')}'"
    if isinstance(value, _dt.date):
        return f"'{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _quote_column(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"


def to_arrow(frame: Any):
    """A pandas DataFrame (or pyarrow Table) as a pyarrow Table ready for Delta."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(frame, pa.Table):
        table = frame
    else:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    columns = []
    for name, col in zip(table.column_names, table.columns):
        t = col.type
        if pa.types.is_timestamp(t):
            # Delta stores microseconds; aware timestamps go to UTC
            target = pa.timestamp("us", tz="UTC" if t.tz else None)
            if t != target:  # sub-microsecond digits are dropped, as Delta would
                col = pc.cast(col, target, safe=False)
        elif pa.types.is_large_string(t) or pa.types.is_string_view(t):
            col = pc.cast(col, pa.string())
        elif pa.types.is_dictionary(t):
            col = pc.cast(col, t.value_type)
        columns.append(col)
    return pa.table(dict(zip(table.column_names, columns)))


def conform(table: Any, existing: Any, name: str):
    """Cast ``table``'s columns to the ``existing`` schema's types, refusing lossy casts."""
    import pyarrow as pa

    if existing is None:
        cols = []
        for n, col in zip(table.column_names, table.columns):
            cols.append(col.cast(pa.string()) if pa.types.is_null(col.type) else col)
        return pa.table(dict(zip(table.column_names, cols)))
    types = {f.name: f.type for f in existing}
    cols = []
    for n, col in zip(table.column_names, table.columns):
        want = types.get(n)
        if want is None:
            cols.append(col.cast(pa.string()) if pa.types.is_null(col.type) else col)
            continue
        if col.type != want:
            try:
                col = col.cast(want, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InputError(
                    f"table {name}: column {n!r} is {want} in the table but the new rows have {col.type} "
                    f"that cannot be stored without loss ({str(exc).splitlines()[0]})",
                    hint="cast the column, or write to a new table",
                ) from None
        cols.append(col)
    return pa.table(dict(zip(table.column_names, cols)))


class DeltaTables:
    """Delta tables under one root (a folder, or a URI such as ``abfss://...``)."""

    #: deltalake holds these tables, not Spark
    spark = None

    def __init__(
        self, root: str | Path, *, storage_options: dict[str, str] | None = None, lock_dir: Path | None = None
    ):
        self.root = str(root).rstrip("/")
        self.storage_options = dict(storage_options or {}) or None
        self.is_local = "://" not in self.root or self.root.startswith("file://")
        self.lock_dir = lock_dir if lock_dir is not None else (Path(self.root) if self.is_local else None)

    # -- naming ---------------------------------------------------------------------------
    def location(self, name: str) -> str:
        if not _NAME.match(name or ""):
            raise InputError(f"invalid table name {name!r} (letters, digits, _ and -)")
        return f"{self.root}/{name}"

    def exists(self, name: str) -> bool:
        from deltalake import DeltaTable

        try:
            return DeltaTable.is_deltatable(self.location(name), storage_options=self.storage_options)
        except OSError as exc:
            raise self._service_error(name, exc) from None

    def _open(self, name: str):
        from deltalake import DeltaTable

        try:
            return DeltaTable(self.location(name), storage_options=self.storage_options)
        except Exception as exc:  # noqa: BLE001 - deltalake errors, translated
            if type(exc).__name__ == "TableNotFoundError":
                return None
            raise self._service_error(name, exc) from None

    def _service_error(self, name: str, exc: Exception) -> ServiceError:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = None if self.is_local else "check tables.path and tables.storage_options (credentials) of the target"
        return ServiceError(f"table {name} at {self.location(name)}: {first}", hint=hint)

    # -- reading --------------------------------------------------------------------------
    def schema(self, name: str):
        table = self._open(name)
        return None if table is None else table.to_pyarrow_dataset().schema

    def _filter(self, name: str, dataset: Any, where: dict[str, Any] | None):
        """``where`` as a pyarrow filter expression over ``dataset`` (None: every row)."""
        import pyarrow.compute as pc

        expr = None
        for column, value in (where or {}).items():
            if column not in dataset.schema.names:
                raise InputError(f"table {name} has no column {column!r} (columns: {', '.join(dataset.schema.names)})")
            field = pc.field(column)
            if value is None:
                term = field.is_null()
            elif isinstance(value, (list, tuple, set, frozenset)):
                term = field.isin(list(value))
            else:
                term = field == value
            expr = term if expr is None else (expr & term)
        return expr

    def read(self, name: str, *, where: dict[str, Any] | None = None, columns: list[str] | None = None):
        import pandas as pd

        table = self._open(name)
        if table is None:
            return pd.DataFrame(columns=columns or [])
        dataset = table.to_pyarrow_dataset()
        expr = self._filter(name, dataset, where)
        try:
            return dataset.to_table(filter=expr, columns=columns).to_pandas()
        except Exception as exc:
            if isinstance(exc, InputError):
                raise
            raise self._service_error(name, exc) from None

    def read_chunks(self, name: str, *, where: dict[str, Any] | None = None, columns: list[str] | None = None,
                    chunk_rows: int) -> Iterator[Any]:
        """Streamed from a table on this machine's disk; a remote one is read whole, then sliced."""
        table = self._open(name)
        if table is None:
            return
        dataset = table.to_pyarrow_dataset()
        cols = None if columns is None else [c for c in dict.fromkeys(columns) if c in dataset.schema.names]
        if not self.is_local:
            frame = self.read(name, where=where, columns=cols)
            for start in range(0, len(frame), chunk_rows):
                yield frame.iloc[start : start + chunk_rows]
            return
        expr = self._filter(name, dataset, where)
        for record_batch in dataset.to_batches(filter=expr, columns=cols, batch_size=chunk_rows):
            if record_batch.num_rows:
                yield record_batch.to_pandas()

    # -- writing --------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        if self.lock_dir is None:
            yield
            return
        with file_lock(Path(str(self.lock_dir).removeprefix("file://")) / f".{name}.lock"):
            yield

    def _write(self, name: str, frame: Any, *, predicate: str | None) -> None:
        from deltalake import write_deltalake

        data = to_arrow(frame)
        uri = self.location(name)
        with self._lock(name):
            for attempt in range(COMMIT_RETRIES):
                existing = self.schema(name)
                rows = conform(data, existing, name)
                try:
                    if predicate is None or existing is None:
                        write_deltalake(
                            uri, rows, mode="append", schema_mode="merge", storage_options=self.storage_options
                        )
                    else:
                        write_deltalake(
                            uri,
                            rows,
                            mode="overwrite",
                            predicate=predicate,
                            schema_mode="merge",
                            storage_options=self.storage_options,
                        )
                    return
                except Exception as exc:  # noqa: BLE001 - deltalake errors, translated
                    kind = type(exc).__name__
                    if kind == "CommitFailedError" or "already exists" in str(exc):
                        # another writer committed first: re-read the table and try again
                        time.sleep(min(0.05 * (attempt + 1), 0.5) * (0.5 + random.random()))
                        continue
                    if kind == "DeltaError" and "failed validation check" in str(exc):
                        raise InputError(
                            f"table {name}: some new rows do not match the replace condition {predicate}"
                        ) from None
                    if kind in ("SchemaMismatchError",):
                        raise InputError(f"table {name}: {str(exc).splitlines()[0]}") from None
                    raise self._service_error(name, exc) from None
            raise ServiceError(
                f"table {name}: gave up after {COMMIT_RETRIES} conflicting concurrent commits",
                hint="too many writers at once; retry",
            )

    def append(self, name: str, frame: Any) -> None:
        if len(frame) == 0 and self.exists(name):
            return
        self._write(name, frame, predicate=None)

    def replace_where(self, name: str, frame: Any, *, column: str, value: Any) -> None:
        """Replace the rows where ``column == value`` with ``frame`` in one transaction."""
        if column not in list(frame.column_names if hasattr(frame, "column_names") else frame.columns):
            raise InputError(f"table {name}: the new rows have no column {column!r}")
        self._write(name, frame, predicate=f"{_quote_column(column)} = {_sql_literal(value)}")


def from_context(ctx) -> DeltaTables:
    tables_cfg = ctx.target.tables
    root = tables_cfg.path or str(ctx.state_dir / "tables")
    if "://" not in root and not os.path.isabs(root):
        root = str(ctx.root / root)
    return DeltaTables(root, storage_options=tables_cfg.storage_options or None)
