"""Model registry port (MLflow)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class ModelVersion:
    name: str
    version: int
    run_id: str | None
    source: str | None
    aliases: list[str] = field(default_factory=list)
    stage: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    created_at: int | None = None  # epoch ms


class Registry(Protocol):
    def get_model(self, name: str) -> list[ModelVersion]:
        """All versions; ServiceError (exit 2) when the model is unknown."""

    def get_version(self, name: str, version: int) -> ModelVersion: ...

    def holder(self, name: str, slot: str) -> ModelVersion | None:
        """Who holds ``slot`` ('staging' | 'production') under the configured scheme."""

    def assign(self, name: str, slot: str, version: int) -> None:
        """Give ``slot`` to ``version`` (alias set, or stage transition archiving the old holder)."""

    def unassign(self, name: str, slot: str, version: int) -> None:
        """Take ``slot`` from ``version`` (alias deleted, or the version's stage set back to None)."""

    def set_tags(self, name: str, version: int, tags: dict[str, str]) -> None: ...

    def model_tags(self, name: str) -> dict[str, str]:
        """The tags of the registered model itself (not of a version)."""

    def set_model_tag(self, name: str, key: str, value: str) -> None: ...

    def delete_model_tag(self, name: str, key: str) -> None: ...

    def model_uri(self, name: str, version: int) -> str: ...
