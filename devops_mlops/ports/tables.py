"""Tables port: the project's tables (features, predictions, metrics, promotions,
retrain_attempts, ...), read as pandas frames and written a batch at a time.

Adapters: Delta tables through deltalake (adapters/local/tables.py, also a Databricks
target's tables seen from a pipeline agent), Spark (adapters/spark/tables.py: the local
Spark engine and Databricks notebooks); the in-memory fake is testing/fakes/tables.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol


class Tables(Protocol):
    """What every tables adapter offers. Writes merge new columns into the table's schema and
    refuse (InputError) values its column types cannot hold without loss."""

    #: the Spark session of tables Spark holds (those also offer :class:`SparkScoring`); None elsewhere
    spark: Any

    def exists(self, name: str) -> bool: ...

    def read(self, name: str, *, where: dict[str, Any] | None = None, columns: list[str] | None = None) -> Any:
        """A pandas DataFrame of the rows matching ``where`` (column -> value, a list of values, or
        None for null), with ``columns`` only, in that order, when given; empty (with ``columns``)
        when the table does not exist. InputError for a ``where`` column the table lacks."""

    def read_chunks(self, name: str, *, where: dict[str, Any] | None = None, columns: list[str] | None = None,
                    chunk_rows: int) -> Iterator[Any]:
        """The rows ``read`` would return, as pandas frames of at most ``chunk_rows`` rows (streamed
        where the adapter can, so memory follows the chunk); none when the table does not exist.
        ``columns`` may repeat names or name columns the table lacks: those are left out."""

    def append(self, name: str, frame: Any) -> None:
        """Add ``frame``'s rows (creating the table); an empty frame adds nothing."""

    def replace_where(self, name: str, frame: Any, *, column: str, value: Any) -> None:
        """Atomically replace the rows where ``column == value`` with ``frame`` (idempotent re-runs);
        InputError when ``frame`` has no ``column`` or ``value`` is None."""

    def location(self, name: str) -> str:
        """Where the table is (a path/URI, or catalog.schema.table); InputError for an invalid name."""


class SparkScoring(Tables, Protocol):
    """Tables held by Spark (``spark`` is set): a batch can be scored where the rows are."""

    def score_into(self, source: str, target: str, udf: Any, *, batch: int, keys: list[str],
                   inputs: list[str] | None, constants: dict[str, Any]) -> int:
        """Score batch ``batch`` of table ``source`` with the Spark UDF ``udf`` (applied to a struct
        of ``inputs``; default: every column but ``keys`` and ``batch_id``) and replace that batch
        of ``target`` with ``keys``, ``prediction``, the ``constants`` as columns, ``scored_at``
        (now) and ``batch_id``; the number of rows written."""
