"""Sync figures against the emulator with 20 ms latency per request.

Prints: first sync vs uploading one after another (ratio), requests of a re-sync with nothing
changed, imports after one change, and convergence with 20% of requests failing.
Usage: python bench/bench_sync.py [N_NOTEBOOKS]   (default 1000)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from devops_mlops.config import load_config
from devops_mlops.context import Context
from devops_mlops.ops.sync import sync
from devops_mlops.testing.databricks_emulator import DatabricksEmulator, sample_project
from devops_mlops.testing.http import Faults

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
FOLDERS = 10


def main() -> None:
    os.environ["DATABRICKS_TOKEN"] = "dapi-bench"
    with tempfile.TemporaryDirectory() as tmp, DatabricksEmulator(token="dapi-bench", latency=0.02) as emu:
        cfg = load_config(sample_project(Path(tmp), host=emu.url, notebooks=N, folders=FOLDERS))
        ctx = Context(cfg, cfg.target("dev"))
        ws = ctx.workspace
        items = sorted((Path(tmp) / "notebooks").rglob("*.py"))
        # baseline: one import after another, as a plain loop over the SDK would
        ws.mkdirs("/Shared/baseline")
        for f in range(FOLDERS):
            ws.mkdirs(f"/Shared/baseline/f{f}")
        t = time.perf_counter()
        for p in items:
            rel = p.relative_to(Path(tmp) / "notebooks").with_suffix("").as_posix()
            ws.import_(f"/Shared/baseline/{rel}", p.read_bytes(), format="SOURCE", language="PYTHON", overwrite=True)
        sequential = time.perf_counter() - t
        emu.reset_log()
        t = time.perf_counter()
        sync(ctx)
        first = time.perf_counter() - t
        print(f"notebooks: {N} in {FOLDERS} folders, latency 20 ms/request")
        print(f"first sync: {first:.2f}s; one after another: {sequential:.2f}s; ratio {sequential / first:.1f}x"
              f" (goal >= 6x)")
        emu.reset_log()
        t = time.perf_counter()
        sync(ctx)
        api = emu.api_requests()
        reads = [r for r in api if r.method == "GET"]
        print(f"re-sync, nothing changed: {time.perf_counter() - t:.2f}s, writes {len(emu.writes())}, "
              f"reads {len(reads)} (limit 1 + folders = {1 + FOLDERS + 1})")
        (items[0]).write_text(items[0].read_text() + "print('changed')\n")
        emu.reset_log()
        sync(ctx)
        nb_imports = [r for r in emu.imports() if not r.json["path"].endswith(".mlops-sync.json")]
        print(f"one notebook changed: notebook imports {len(nb_imports)}, manifest writes "
              f"{len(emu.imports()) - len(nb_imports)}, other writes {len(emu.writes()) - len(emu.imports())}")
        # convergence with 20% faults, into a fresh folder
        emu.faults = Faults(rate=0.2, kinds=("throttle", "503", "reset"), retry_after=0, seed=11)
        emu.latency = 0.0
        with emu.lock:
            for p in [p for p in emu.objects if p.startswith("/Shared/demo")]:
                del emu.objects[p]
        t = time.perf_counter()
        runs = 0
        while True:
            runs += 1
            try:
                sync(ctx)
                break
            except Exception as exc:
                print(f"  run {runs}: {exc}")
                if runs > 5:
                    raise
        emu.faults = Faults()
        faults = len(emu.faults_injected)
        emu.reset_log()
        again = sync(ctx)
        ok = again.plan.counts() == {"unchanged": N + 1} and not emu.writes()  # + mlops.yaml
        print(f"20% faults: converged in {runs} run(s), {time.perf_counter() - t:.1f}s, "
              f"{faults} faults; final state {'identical' if ok else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
