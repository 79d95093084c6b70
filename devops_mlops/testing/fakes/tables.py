"""In-memory tables: the tables port (devops_mlops/ports/tables.py) over pandas frames in a dict,
passing the same contract suite as the Delta and Spark adapters (tests/contract/).

Writes behave as the Delta adapter's: new columns are merged in (earlier rows get nulls),
values that the table's column type cannot hold without loss are refused (InputError),
``replace_where`` swaps one value's rows at once, an empty append to an existing table adds
nothing, and categorical columns are stored as their values (Delta has no categories).

Assertion helpers: :meth:`FakeTables.rows`, :meth:`FakeTables.names`, and ``writes``, the
list of every write in order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ...errors import InputError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


@dataclass(frozen=True)
class Write:
    """One write: ``append`` or ``replace_where`` (with its column and value), and its row count."""

    op: str
    table: str
    rows: int
    column: str | None = None
    value: Any = None


def _plain(frame: Any) -> pd.DataFrame:
    """``frame`` (pandas, or anything with ``to_pandas``) as a fresh pandas frame without categories."""
    out = frame.to_pandas() if hasattr(frame, "to_pandas") else pd.DataFrame(frame).copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.CategoricalDtype):
            out[name] = out[name].astype(out[name].cat.categories.dtype)
    return out.reset_index(drop=True)


def _conform(table: str, column: str, values: pd.Series, want: Any) -> pd.Series:
    """``values`` as dtype ``want``; InputError when that loses information (as Delta's safe cast)."""
    if values.dtype == want or values.isna().all():
        return values
    if pd.api.types.is_object_dtype(want):  # a string column takes any value as text
        return values.where(values.isna(), values.astype(str))
    try:
        cast = values.astype(want)
        lossless = bool((cast[values.notna()].astype(values.dtype) == values[values.notna()]).all())
    except (TypeError, ValueError, OverflowError):
        lossless = False
    if not lossless:
        raise InputError(
            f"table {table}: column {column!r} is {want} in the table but the new rows have {values.dtype} "
            "that cannot be stored without loss",
            hint="cast the column, or write to a new table",
        )
    return cast


class FakeTables:
    """The tables port in memory (see the module docstring)."""

    #: pandas holds these tables, not Spark
    spark = None

    def __init__(self) -> None:
        self._frames: dict[str, pd.DataFrame] = {}
        #: every write, in order
        self.writes: list[Write] = []

    # -- assertion helpers ---------------------------------------------------------------------
    def rows(self, name: str) -> list[dict[str, Any]]:
        """The rows of table ``name`` as dicts ([] when it does not exist)."""
        return self.read(name).to_dict("records")

    def names(self) -> list[str]:
        """The tables that exist."""
        return sorted(self._frames)

    # -- the port ------------------------------------------------------------------------------
    def location(self, name: str) -> str:
        if not _NAME.match(name or ""):
            raise InputError(f"invalid table name {name!r} (letters, digits, _ and -)")
        return f"memory://{name}"

    def exists(self, name: str) -> bool:
        return self.location(name) is not None and name in self._frames

    def read(self, name: str, *, where: dict[str, Any] | None = None, columns: list[str] | None = None):
        self.location(name)
        if name not in self._frames:
            return pd.DataFrame(columns=columns or [])
        frame = self._frames[name]
        keep = pd.Series(True, index=frame.index)
        for column, value in (where or {}).items():
            if column not in frame.columns:
                raise InputError(f"table {name} has no column {column!r} (columns: {', '.join(frame.columns)})")
            if value is None:
                keep &= frame[column].isna()
            elif isinstance(value, (list, tuple, set, frozenset)):
                keep &= frame[column].isin(list(value))
            else:
                keep &= frame[column] == value
        out = frame[keep]
        return (out if columns is None else out[list(columns)]).reset_index(drop=True).copy()

    def read_chunks(self, name: str, *, where: dict[str, Any] | None = None, columns: list[str] | None = None,
                    chunk_rows: int) -> Iterator[pd.DataFrame]:
        if not self.exists(name):
            return
        known = self._frames[name].columns
        cols = None if columns is None else [c for c in dict.fromkeys(columns) if c in known]
        frame = self.read(name, where=where, columns=cols)
        for start in range(0, len(frame), chunk_rows):
            yield frame.iloc[start : start + chunk_rows].reset_index(drop=True)

    def _merged(self, name: str, rows: pd.DataFrame, keep: pd.DataFrame | None) -> pd.DataFrame:
        """``keep`` (the table's rows that stay; default: all) then ``rows``, conformed to the table's
        types, with the table's columns first and the new ones after."""
        existing = self._frames.get(name)
        if existing is None:
            return rows
        for column in rows.columns:
            if column in existing.columns:
                rows[column] = _conform(name, column, rows[column], existing[column].dtype)
        keep = existing if keep is None else keep
        columns = list(dict.fromkeys([*existing.columns, *rows.columns]))
        parts = [part for part in (keep, rows) if len(part)]
        merged = pd.concat(parts, ignore_index=True) if len(parts) == 2 else (parts or [keep])[0]
        return merged.reindex(columns=columns).reset_index(drop=True)

    def append(self, name: str, frame: Any) -> None:
        self.location(name)
        rows = _plain(frame)
        if rows.empty and self.exists(name):
            return
        self._frames[name] = self._merged(name, rows, None)
        self.writes.append(Write("append", name, len(rows)))

    def replace_where(self, name: str, frame: Any, *, column: str, value: Any) -> None:
        self.location(name)
        rows = _plain(frame)
        if column not in rows.columns:
            raise InputError(f"table {name}: the new rows have no column {column!r}")
        if value is None:
            raise InputError("replace_where: the value cannot be null")
        if len(rows) and not (rows[column] == value).all():
            raise InputError(f"table {name}: some new rows do not match the replace condition {column} = {value!r}")
        existing = self._frames.get(name)
        keep = None
        if existing is not None and column in existing.columns:
            keep = existing[existing[column] != value]  # nulls stay, as under the SQL predicate
        self._frames[name] = self._merged(name, rows, keep)
        self.writes.append(Write("replace_where", name, len(rows), column, value))
