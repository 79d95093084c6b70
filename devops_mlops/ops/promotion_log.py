"""Where promotions are recorded: the ``promotions`` table, or the registry itself.

Rollback reads the history of a slot, so a promotion is not complete until its row is written.
On the embedded default and inside a Databricks runtime the row goes to the target's
``promotions`` table. A pipeline agent promoting on a Databricks target usually has no way to
write Delta tables (no Spark, no ``tables.path``): there the history lives in the registry, as
tags on the registered model, ``mlops.promotions.<slot>.<sortable id>`` holding one compact JSON
row each, which any identity allowed to move the alias may also write. Which one a target uses
is settled before anything changes, so a promotion is never left half made.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
from typing import Any

PROMOTIONS_TABLE = "promotions"
TAG_PREFIX = "mlops.promotions."
#: fields of a row kept in a registry tag (the gate summary is cut to fit the registry's limits)
_SUMMARY_CHARS = 200


class TableLog:
    """Rows in the target's ``promotions`` Delta table."""

    kind = "table"

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.tables = ctx.tables  # raises ConfigError when the target's tables cannot be reached

    def location(self) -> str:
        return self.tables.location(PROMOTIONS_TABLE)

    def append(self, row: dict[str, Any]) -> None:
        import pandas as pd

        frame = pd.DataFrame([row])
        frame["version"] = frame["version"].astype("int64")
        frame["previous_version"] = frame["previous_version"].astype("Int64")
        frame["forced"] = frame["forced"].astype(bool)
        self.tables.append(PROMOTIONS_TABLE, frame)

    def rows(self, name: str, slot: str | None = None):
        import pandas as pd

        where: dict[str, Any] = {"model_name": name}
        if slot:
            where["slot"] = slot
        if not self.tables.exists(PROMOTIONS_TABLE):
            return pd.DataFrame()
        frame = self.tables.read(PROMOTIONS_TABLE, where=where)
        return frame.sort_values("promoted_at", kind="stable").reset_index(drop=True) if len(frame) else frame


class RegistryLog:
    """Rows as tags on the registered model (see the module's docstring)."""

    kind = "registry"

    def __init__(self, ctx: Any) -> None:
        self.registry = ctx.registry

    def location(self) -> str:
        return f"registry tags {TAG_PREFIX}<slot>.*"

    def append(self, row: dict[str, Any]) -> None:
        at = row["promoted_at"]
        stamp = at.strftime("%Y%m%dT%H%M%S%f") if isinstance(at, _dt.datetime) else str(int(time.time() * 1e6))
        key = f"{TAG_PREFIX}{row['slot']}.{stamp}-{os.urandom(2).hex()}"
        compact = {k: v for k, v in row.items() if v is not None and k != "model_name"}
        compact["promoted_at"] = at.isoformat() if isinstance(at, _dt.datetime) else str(at)
        if isinstance(compact.get("gate_summary"), str):
            compact["gate_summary"] = compact["gate_summary"][:_SUMMARY_CHARS]
        self.registry.set_model_tag(row["model_name"], key, json.dumps(compact, separators=(",", ":"), default=str))

    def rows(self, name: str, slot: str | None = None):
        import pandas as pd

        found = []
        for key, value in sorted(self.registry.model_tags(name).items()):
            if not key.startswith(TAG_PREFIX):
                continue
            try:
                row = json.loads(value)
            except ValueError:
                continue  # a tag someone edited by hand: not a row
            if not isinstance(row, dict) or "version" not in row:
                continue
            row.setdefault("slot", key[len(TAG_PREFIX):].split(".", 1)[0])
            if slot and row["slot"] != slot:
                continue
            row["model_name"] = name
            row["promoted_at"] = pd.Timestamp(row.get("promoted_at"))
            found.append(row)
        if not found:
            return pd.DataFrame()
        frame = pd.DataFrame(found)
        frame["version"] = frame["version"].astype("int64")
        frame["previous_version"] = frame.get("previous_version", pd.Series([None] * len(frame))).astype("Int64")
        return frame.sort_values("promoted_at", kind="stable").reset_index(drop=True)


def log_for(ctx: Any) -> TableLog | RegistryLog:
    """The target's promotions log: its table when this process can reach it, else the registry."""
    cached = getattr(ctx, "_promotion_log", None)
    if cached is not None:
        return cached
    from ..errors import ConfigError

    try:
        log: TableLog | RegistryLog = TableLog(ctx)
    except ConfigError:
        if ctx.target.backend == "local":
            raise
        log = RegistryLog(ctx)
    ctx._promotion_log = log
    return log
