"""Use case: batch inference with the production model into the ``predictions`` table.

``infer(ctx, batches=None, version=None)`` scores the feature table's batches
(``model.features_table``) that have no predictions yet and are newer than the
data the version was evaluated on (its ``mlops.eval_batch`` tag), or the ones
named (those are re-scored), with the production version (or the one named). Each batch's rows are written with one
``replace_where(batch_id)``, so scoring a batch again replaces its rows: no
duplicates, and a crash leaves the batch either whole or absent.

On this machine the feature rows are streamed from the Delta table in chunks of
``chunk_rows`` and scored with pandas, so memory follows the chunk, not the
batch; only the compact predictions accumulate. On Spark tables (the local Spark
engine, a Databricks notebook) the batch is scored where it is, by the registry's
Spark UDF of the version (``mlflow.pyfunc.spark_udf``).

``predictions`` columns: the model's key columns (``model.keys``),
``prediction``, ``model_name``, ``model_version``, ``scored_at`` (UTC),
``batch_id``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from .. import killpoint
from ..errors import InputError
from . import tables as T

DEFAULT_CHUNK_ROWS = 250_000


@dataclass
class InferResult:
    model: str
    version: int | None
    batches: list[int]
    rows: int
    table: str
    seconds: float = 0.0
    dry_run: bool = False
    engine: str = "pandas"
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        if not self.batches:
            return f"nothing to score: every new feature batch has predictions ({self.table})"
        verb = "would score" if self.dry_run else "scored"
        rows = "" if self.dry_run else f"{self.rows} rows of "
        return (
            f"{verb} {rows}batch(es) {', '.join(map(str, self.batches))} with {self.model} v{self.version} "
            f"into {self.table}" + ("" if self.dry_run else f" in {self.seconds:.1f}s ({self.engine})")
        )


def production_version(ctx, name: str) -> int:
    holder = ctx.registry.holder(name, "production")
    if holder is None:
        raise InputError(
            f"model {name} has no production version",
            hint="train and promote one first (mlops run training; mlops model promote --version N --to production)",
        )
    return int(holder.version)


def batch_ids(tables, name: str) -> list[int]:
    return T.table_batches(tables, name)


def evaluated_on(ctx, name: str, version: int) -> int | None:
    """The last batch of the data ``version`` was trained and evaluated on (its ``mlops.eval_batch`` tag)."""
    tag = str(ctx.registry.get_version(name, version, with_metrics=False).tags.get("mlops.eval_batch") or "")
    return int(tag) if tag.strip().lstrip("-").isdigit() else None


def infer(
    ctx,
    *,
    batches: list[int] | None = None,
    version: int | None = None,
    source: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    tables: Any = None,
    rescore: bool = False,
) -> InferResult:
    """Score ``batches`` (default: those without predictions; ``rescore``: all) into ``predictions``."""
    tables = tables if tables is not None else ctx.tables
    source = source or ctx.config.model.features_table
    name = ctx.config.model.name
    version = int(version) if version is not None else production_version(ctx, name)
    available = batch_ids(tables, source)
    if batches is None:  # the new ones: after the data the version was evaluated on, not scored yet
        seen = evaluated_on(ctx, name, version)
        done = set() if rescore else set(batch_ids(tables, T.PREDICTIONS))
        batches = [b for b in available if b not in done and (seen is None or b > seen)]
    else:
        missing = sorted(set(batches) - set(available))
        if missing:
            raise InputError(
                f"no rows for batch(es) {', '.join(map(str, missing))} in {tables.location(source)}",
                hint="extract, prepare and build the features of a batch before scoring it",
            )
    result = InferResult(name, version, list(batches), 0, tables.location(T.PREDICTIONS), dry_run=ctx.dry_run)
    if not batches or ctx.dry_run:
        return result
    started = time.perf_counter()
    if tables.spark is not None:
        result.engine = "spark_udf"
        result.rows = _infer_spark(ctx, tables, name, version, batches, source)
    else:
        model = ctx.registry.load_model(name, version)
        killpoint.reached("infer.loaded")
        for b in batches:
            ctx.console.progress(f"scoring batch {b} with {name} v{version}")
            result.rows += score_batch(ctx, tables, model, name, version, b, source=source, chunk_rows=chunk_rows)
            killpoint.reached("infer.batch")
    result.seconds = time.perf_counter() - started
    return result


def input_columns(model) -> list[str] | None:
    schema = model.metadata.get_input_schema() if getattr(model, "metadata", None) else None
    return schema.input_names() if schema is not None else None


def score_batch(ctx, tables, model, name: str, version: int, batch: int, *, source: str, chunk_rows: int) -> int:
    """Score one batch in chunks and replace its rows in ``predictions``; the number of rows."""
    import numpy as np
    import pandas as pd

    from ..kernel.threads import threads_for

    keys = list(ctx.config.model.keys)
    inputs = input_columns(model)
    columns = None if inputs is None else keys + ["batch_id"] + inputs
    key_parts: dict[str, list] = {k: [] for k in keys}
    preds: list[Any] = []
    for chunk in tables.read_chunks(source, where={"batch_id": batch}, columns=columns, chunk_rows=chunk_rows):
        X = chunk[inputs] if inputs is not None else chunk.drop(columns=keys + ["batch_id"], errors="ignore")
        with threads_for(len(X)):
            preds.append(np.asarray(model.predict(X), dtype="float64").reshape(-1))
        for k in keys:
            key_parts[k].append(chunk[k].to_numpy())
        del chunk, X
    if not preds:
        return 0
    n = sum(len(p) for p in preds)
    out = pd.DataFrame({k: np.concatenate(v) for k, v in key_parts.items()})
    out["prediction"] = np.concatenate(preds)
    out["model_name"] = pd.Series([name], dtype="category").repeat(n).reset_index(drop=True)
    out["model_version"] = np.full(n, int(version), dtype="int64")
    out["scored_at"] = pd.Timestamp.now(tz="UTC")
    out["batch_id"] = np.full(n, int(batch), dtype="int64")
    killpoint.reached("infer.write")
    tables.replace_where(T.PREDICTIONS, out, column="batch_id", value=int(batch))
    return n


def _infer_spark(ctx, tables, name: str, version: int, batches: list[int], source: str) -> int:
    """Score on Spark, where the rows are: the registry gives the version's UDF, the tables apply
    it to each batch and replace that batch's predictions at once."""
    inputs = input_columns(ctx.registry.load_model(name, version))
    udf = ctx.registry.spark_udf(tables.spark, name, version, result_type="double")
    keys = list(ctx.config.model.keys)
    rows = 0
    for b in batches:
        ctx.console.progress(f"scoring batch {b} with {name} v{version} (spark_udf)")
        rows += tables.score_into(source, T.PREDICTIONS, udf, batch=int(b), keys=keys, inputs=inputs,
                                  constants={"model_name": name, "model_version": int(version)})
    return rows
