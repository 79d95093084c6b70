"""Use case: the registered model's versions, who holds staging and production,
their key metrics, source run and the git commit they were trained from."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from ..core.promotion import SLOTS, gate_metrics
from .model_validate import model_name

#: how many versions `status` lists (the newest); holders are always listed
DEFAULT_LIMIT = 20


@dataclass
class StatusResult:
    model: str
    scheme: str
    registry: str
    holders: dict[str, int | None]
    metrics: list[str]
    versions: list[dict[str, Any]] = field(default_factory=list)
    total_versions: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "scheme": self.scheme,
            "registry": self.registry,
            "holders": self.holders,
            "metrics": self.metrics,
            "total_versions": self.total_versions,
            "versions": self.versions,
        }


def commit_of(tags: dict[str, str]) -> str | None:
    """The commit a version was trained from, by its tags (the training code's own first)."""
    for key in ("mlops.git_commit", "git_commit", "mlops.source_git_commit", "mlflow.source.git.commit"):
        if tags.get(key):
            return tags[key]
    return None


def status(ctx, *, model: str | None = None, limit: int = DEFAULT_LIMIT) -> StatusResult:
    cfg = ctx.config
    name = model_name(ctx, model)
    registry = ctx.registry
    versions = registry.get_model(name)
    holders = {slot: getattr(registry.holder(name, slot), "version", None) for slot in SLOTS}
    shown = gate_metrics(cfg.promotion.thresholds, cfg.promotion.min_improvement, cfg.model.primary_metric)
    keep = {v for v in holders.values() if v is not None}
    newest = sorted(versions, key=lambda v: v.version, reverse=True)
    listed = [v for n, v in enumerate(newest) if n < limit or v.version in keep]
    rows = []
    for v in listed:
        created = (
            _dt.datetime.fromtimestamp(v.created_at / 1000, _dt.UTC).isoformat(timespec="seconds")
            if v.created_at
            else None
        )
        rows.append(
            {
                "version": v.version,
                "slots": [slot for slot in SLOTS if holders[slot] == v.version],
                "aliases": v.aliases,
                "stage": v.stage,
                "created": created,
                "run_id": v.run_id,
                "git_commit": commit_of(v.tags),
                "metrics": {m: v.metrics[m] for m in shown if m in v.metrics},
                "promoted_by": v.tags.get("mlops.production.promoted_by") or v.tags.get("mlops.staging.promoted_by"),
            }
        )
    return StatusResult(
        model=name,
        scheme=registry.scheme_for(name) if hasattr(registry, "scheme_for") else cfg.promotion.scheme,
        registry=getattr(registry, "registry_uri", ""),
        holders=holders,
        metrics=shown,
        versions=rows,
        total_versions=len(versions),
    )
