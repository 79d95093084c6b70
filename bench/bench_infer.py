"""Benchmark: `mlops infer` of 1M rows on the local backend against the limit
(the model's bare predict over the whole frame + one bare write_deltalake of it).

    .venv/bin/python bench/bench_infer.py [--rows 1000000]

Prints both times, the ratio (goal <= 1.5x) and the peak memory (RSS) of each phase.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


CHILD = """
import json, resource, sys
from pathlib import Path
from devops_mlops.context import Context
from devops_mlops.ops.infer import infer
ctx = Context.create(config_path=Path(sys.argv[1]) / "mlops.yaml")
result = infer(ctx, batches=[100], chunk_rows=int(sys.argv[2]))
# VmHWM belongs to this program's own address space; ru_maxrss would carry the parent's peak over fork
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"rows": result.rows, "peak_mb": hwm / 1024}))
"""


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunk-rows", type=int, default=250_000)
    args = ap.parse_args()
    import numpy as np
    import pandas as pd
    from deltalake import write_deltalake

    from devops_mlops.testing import project as sandbox
    from devops_mlops.ops import tables as T

    work = Path(tempfile.mkdtemp(prefix="bench-infer-"))
    ctx = sandbox.trained(sandbox.make_project(work / "proj", git=False, data={"drift": []}))
    base = ctx.tables.read(ctx.config.model.features_table, where={"batch_id": 0})
    reps = -(-args.rows // len(base))
    big = pd.concat([base] * reps, ignore_index=True).iloc[: args.rows].copy()
    big["batch_id"] = 100
    ctx.tables.append(ctx.config.model.features_table, big)
    model = ctx.registry.load_model(ctx.config.model.name, 1)
    inputs = model.metadata.get_input_schema().input_names()
    del base
    frame_size_mb = big.memory_usage(deep=True).sum() / 2**20
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

    from devops_mlops.ops.infer import infer

    t = time.perf_counter()
    result = infer(ctx, batches=[100], chunk_rows=args.chunk_rows)
    ours = time.perf_counter() - t
    print(f"mlops infer (load model, stream {args.chunk_rows:,}-row chunks, replace_where): {ours:.2f}s, "
          f"{result.rows:,} rows", flush=True)
    # re-scoring runs in a process of its own, so its peak memory is infer's alone
    t = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", CHILD, str(work / "proj"), str(args.chunk_rows)],
                           capture_output=True, text=True, check=True)
    again = time.perf_counter() - t
    peak = json.loads(child.stdout.strip().splitlines()[-1])["peak_mb"]
    n = len(ctx.tables.read(T.PREDICTIONS, where={"batch_id": 100}, columns=["batch_id"]))
    print(f"re-score the same batch in a fresh process (replaces its rows): {again:.2f}s, {n:,} rows in "
          f"predictions for it; that process's peak RSS {peak:.0f} MB (the {args.rows:,}-row feature frame "
          f"alone is {frame_size_mb:.0f} MB)")
    print(f"ratio: {ours / bare:.2f}x (goal <= 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
