"""Benchmark: `mlops lifecycle` on the example project, each step's wall and CPU seconds.

    .venv/bin/python bench/bench_lifecycle.py [--fresh-kernels] [--keep DIR]

Scaffolds the example (`mlops init`, a git repository of its own) in a temporary folder, runs
`mlops --format json lifecycle` there and prints, per step, the wall seconds and the CPU
seconds (user+sys of mlops and of the kernels it ran) that the lifecycle reports, with the
totals of the whole process tree. ``--fresh-kernels``: a new kernel per notebook (the way
notebooks ran before the kernel pool), for a before/after in the same conditions. On a loaded
machine compare CPU seconds: wall time grows with the load, CPU time hardly.
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fresh-kernels", action="store_true")
    ap.add_argument("--keep", type=Path, help="scaffold here and keep it (default: a temporary folder)")
    args = ap.parse_args()
    mlops = Path(sys.executable).with_name("mlops")
    with tempfile.TemporaryDirectory() as tmp:
        demo = args.keep or Path(tmp) / "demo"
        demo.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(demo)], check=True)
        subprocess.run([str(mlops), "init", str(demo), "--name", "toll-demand", "--force"], check=True,
                       capture_output=True)
        git = ["git", "-C", str(demo), "-c", "user.name=bench", "-c", "user.email=bench@invalid"]
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "bench"], check=True)
        cmd = [str(mlops), "--format", "json", "lifecycle"] + (["--fresh-kernels"] if args.fresh_kernels else [])
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=demo, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"mlops lifecycle failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    doc = json.loads(proc.stdout)
    print(f"mlops lifecycle{' --fresh-kernels' if args.fresh_kernels else ''}: ok={doc['ok']}  kernels {doc['kernels']}")
    print(f"{'step':12} {'wall s':>8} {'CPU s':>8}")
    for s in doc["steps"]:
        print(f"{s['name']:12} {s['seconds']:8.1f} {s['cpu_seconds']:8.1f}")
    print(f"{'total':12} {wall:8.1f} {kids.ru_utime + kids.ru_stime:8.1f}  (the process tree, set-up included)")


if __name__ == "__main__":
    main()
