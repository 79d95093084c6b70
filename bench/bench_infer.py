"""Benchmark: `mlops infer` of 1M rows on the local backend against the limit
(the model's bare predict over the whole frame + one bare write_deltalake of it).

    .venv/bin/python bench/bench_infer.py [--rows 1000000]

Prints both times, the ratio (goal <= 1.5x) and the peak memory (RSS) of each phase.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    import numpy as np
    import pandas as pd
    from deltalake import write_deltalake

    from devops_mlops.lifecycle import sandbox
    from devops_mlops.lifecycle import tables as T
    from devops_mlops.ops.infer import infer

    work = Path(tempfile.mkdtemp(prefix="bench-infer-"))
    ctx = sandbox.trained(sandbox.make_project(work / "proj", git=False, data={"drift": []}))
    base = ctx.tables.read(T.FEATURES, where={"batch_id": 0})
    reps = -(-args.rows // len(base))
    big = pd.concat([base] * reps, ignore_index=True).iloc[: args.rows].copy()
    big["batch_id"] = 100
    ctx.tables.append(T.FEATURES, big)
    model = ctx.registry.load_model(ctx.config.model.name, 1)
    inputs = model.metadata.get_input_schema().input_names()
    del base
    print(f"rows: {len(big):,}", flush=True)

    # the limit: bare predict on the whole frame, one bare write
    t = time.perf_counter()
    pred = np.asarray(model.predict(big[inputs]), dtype="float64")
    out = big[["plaza", "date"]].copy()
    out["prediction"] = pred
    out["model_name"] = ctx.config.model.name
    out["model_version"] = 1
    out["scored_at"] = pd.Timestamp.now(tz="UTC")
    out["batch_id"] = 100
    write_deltalake(str(work / "bare"), out, mode="append")
    bare = time.perf_counter() - t
    del big, out, pred
    rss_bare = rss_mb()
    print(f"bare predict + write_deltalake: {bare:.2f}s (peak RSS so far {rss_bare:.0f} MB)", flush=True)

    t = time.perf_counter()
    result = infer(ctx, batches=[100])
    ours = time.perf_counter() - t
    print(f"mlops infer (load model, stream chunks, replace_where): {ours:.2f}s, {result.rows:,} rows", flush=True)
    t = time.perf_counter()
    infer(ctx, batches=[100])
    again = time.perf_counter() - t
    n = len(ctx.tables.read(T.PREDICTIONS, where={"batch_id": 100}, columns=["batch_id"]))
    print(f"re-score the same batch (replaces its rows): {again:.2f}s, {n:,} rows in predictions for it")
    print(f"ratio: {ours / bare:.2f}x (goal <= 1.5x); peak RSS {rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
