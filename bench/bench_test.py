"""Benchmark: `mlops test --jobs 2` on 20 small notebooks vs running them one after another with nbclient.

    .venv/bin/python bench/bench_test.py [--notebooks 20] [--jobs 2] [--rounds 3]

Both sides alternate for ``--rounds`` rounds (the best round of each counts), also
`mlops test --fresh-kernels` (a new kernel per notebook, as before the kernel pool).
Prints wall-clock and CPU seconds (user+sys of the process and its kernels) and the
ratios (goal: >= 3x on 2 cores). On a loaded machine the CPU ratio is the steadier one.
"""

from __future__ import annotations

import argparse
import os
import resource
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


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def serial_nbclient(paths: list[Path]) -> tuple[float, float]:
    import nbformat
    from nbclient import NotebookClient

    cpu, start = _cpu(), time.perf_counter()
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(p.parent)}}).execute()
    return time.perf_counter() - start, _cpu() - cpu


def mlops_test(root: Path, jobs: int, *extra: str) -> tuple[float, float]:
    mlops = Path(sys.executable).with_name("mlops")
    cmd = [str(mlops), "test", "--jobs", str(jobs), *extra] if mlops.exists() else [
        sys.executable, "-m", "devops_mlops", "test", "--jobs", str(jobs), *extra]
    cpu, start = _cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"mlops test failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed, _cpu() - cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notebooks", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    runs: dict[str, list[tuple[float, float]]] = {"nbclient": [], "mlops": [], "fresh": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = make_project(root, args.notebooks)
        serial_nbclient(paths[:1])  # warm the file cache for both
        for _ in range(args.rounds):
            runs["nbclient"].append(serial_nbclient(paths))
            runs["mlops"].append(mlops_test(root, args.jobs))
            runs["fresh"].append(mlops_test(root, args.jobs, "--fresh-kernels"))
    wall = {k: min(w for w, _ in v) for k, v in runs.items()}
    cpu = {k: min(c for _, c in v) for k, v in runs.items()}
    n = args.notebooks
    print(f"cpus: {os.cpu_count()}  notebooks: {n}  jobs: {args.jobs}  rounds: {args.rounds} (best of each)")
    print(f"nbclient, one after another:          {wall['nbclient']:6.2f}s wall  {cpu['nbclient']:6.2f}s CPU")
    print(f"mlops test --jobs {args.jobs}:                 {wall['mlops']:6.2f}s wall  {cpu['mlops']:6.2f}s CPU")
    print(f"mlops test --jobs {args.jobs} --fresh-kernels: {wall['fresh']:6.2f}s wall  {cpu['fresh']:6.2f}s CPU")
    print(f"ratio (nbclient / mlops test): {wall['nbclient'] / wall['mlops']:.2f}x wall, "
          f"{cpu['nbclient'] / cpu['mlops']:.2f}x CPU (goal >= 3x); --fresh-kernels "
          f"{wall['nbclient'] / wall['fresh']:.2f}x wall, {cpu['nbclient'] / cpu['fresh']:.2f}x CPU")
    own = n * CELL_SECONDS
    print(f"per-notebook overhead above its own {CELL_SECONDS:.1f}s: mlops {(wall['mlops'] * args.jobs - own) / n:.2f}s "
          f"(kernel-seconds), nbclient {(wall['nbclient'] - own) / n:.2f}s")


if __name__ == "__main__":
    main()
