"""Tables port: Delta tables (predictions, metrics, promotions, retrain_attempts, ...)."""

from __future__ import annotations

from typing import Any, Protocol


class Tables(Protocol):
    def exists(self, name: str) -> bool: ...

    def read(self, name: str, *, where: dict[str, Any] | None = None) -> "Any":
        """A pandas DataFrame (empty when the table does not exist)."""

    def append(self, name: str, frame: "Any") -> None: ...

    def replace_where(self, name: str, frame: "Any", *, column: str, value: Any) -> None:
        """Atomically replace the rows where ``column == value`` with ``frame`` (idempotent re-runs)."""

    def location(self, name: str) -> str:
        """Where the table is (a path/URI, or catalog.schema.table)."""
