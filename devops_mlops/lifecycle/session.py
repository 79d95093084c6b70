"""What a lifecycle notebook (or use case) works with: the context, the tables,
the data settings, and MLflow pointed at the target's tracking/registry store.

A notebook opens one with ``open_session(target)``: mlops.yaml is found from
the working directory upwards (the notebook's folder locally and in a
Databricks Git folder), or given with ``config``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .data import DataSettings


@dataclass
class Session:
    ctx: Any  # devops_mlops.context.Context

    @property
    def config(self):
        return self.ctx.config

    @cached_property
    def settings(self) -> DataSettings:
        return DataSettings.from_config(self.ctx.config.data)

    @cached_property
    def tables(self):
        from ..runtime.tables import tables_for

        return tables_for(self.ctx)

    @property
    def model_name(self) -> str:
        return self.ctx.config.model.name

    def mlflow(self):
        """The mlflow module, pointed at the target's tracking and registry URIs."""
        configure_mlflow(self.ctx)
        import mlflow

        return mlflow


def open_session(target: str | None = None, *, config: str | None = None, ctx: Any = None) -> Session:
    if ctx is None:
        from ..context import Context

        ctx = Context.create(config_path=config or os.environ.get("MLOPS_CONFIG") or None, target=target or None)
    return Session(ctx)


def configure_mlflow(ctx) -> None:
    """Point MLflow's fluent API at the target's tracking and registry URIs (the registry adapter's)."""
    ctx.registry.activate()
