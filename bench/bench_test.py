"""Benchmark: `mlops test --jobs 2` on 20 small notebooks vs running them one after another with nbclient.

    .venv/bin/python bench/bench_test.py [--notebooks 20] [--jobs 2]

Prints the wall-clock ratio (goal: >= 1.8x on 2 cores) and the per-notebook overhead
of `mlops test` above the notebooks' own run time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CELL_SECONDS = 0.2  # each notebook's own work


def make_project(root: Path, n: int) -> list[Path]:
    (root / "notebooks").mkdir(parents=True)
    (root / "mlops.yaml").write_text("project: bench\nmodel: {name: m}\n")
    paths = []
    for i in range(n):
        p = root / "notebooks" / f"test_{i:02d}.ipynb"
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [
            nbformat.v4.new_code_cell(f"import time\nstart = time.time()\nx = sum(range({i + 1} * 1000))"),
            nbformat.v4.new_code_cell(f"time.sleep({CELL_SECONDS})\nassert x > 0"),
        ]
        nbformat.write(nb, p)
        paths.append(p)
    return paths


def serial_nbclient(paths: list[Path]) -> float:
    import nbformat
    from nbclient import NotebookClient

    start = time.perf_counter()
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(p.parent)}}).execute()
    return time.perf_counter() - start


def mlops_test(root: Path, jobs: int) -> float:
    mlops = Path(sys.executable).with_name("mlops")
    cmd = [str(mlops), "test", "--jobs", str(jobs)] if mlops.exists() else [
        sys.executable, "-m", "devops_mlops", "test", "--jobs", str(jobs)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"mlops test failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notebooks", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = make_project(root, args.notebooks)
        serial_nbclient(paths[:1])  # warm the file cache for both
        peer = serial_nbclient(paths)
        ours = mlops_test(root, args.jobs)
    n = args.notebooks
    own = n * CELL_SECONDS
    print(f"cpus: {os.cpu_count()}  notebooks: {n}  jobs: {args.jobs}")
    print(f"nbclient, one after another: {peer:.2f}s")
    print(f"mlops test --jobs {args.jobs}:          {ours:.2f}s")
    print(f"ratio: {peer / ours:.2f}x (goal >= 1.8x on 2 cores)")
    print(f"per-notebook overhead above its own {CELL_SECONDS:.1f}s: mlops {(ours * args.jobs - own) / n:.2f}s "
          f"(kernel-seconds), nbclient {(peer - own) / n:.2f}s")


if __name__ == "__main__":
    main()
