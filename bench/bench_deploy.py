"""Deploy figures against the emulator with 20 ms latency per request: 50 jobs twice
(the second makes zero writes), then convergence with 20% of requests failing."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from devops_mlops.config import load_config
from devops_mlops.context import Context
from devops_mlops.ops.deploy import deploy
from devops_mlops.testing.databricks_emulator import DatabricksEmulator, sample_project
from devops_mlops.testing.http import Faults

JOBS = 50


def main() -> None:
    os.environ["DATABRICKS_TOKEN"] = "dapi-bench"
    with tempfile.TemporaryDirectory() as tmp, DatabricksEmulator(token="dapi-bench", latency=0.02) as emu:
        cfg = load_config(sample_project(Path(tmp), host=emu.url, notebooks=2, jobs=JOBS))
        ctx = Context(cfg, cfg.target("dev"))
        t = time.perf_counter()
        deploy(ctx)
        first = time.perf_counter() - t
        writes_first = len(emu.writes())
        emu.reset_log()
        t = time.perf_counter()
        deploy(ctx)
        print(f"{JOBS} jobs, latency 20 ms/request")
        print(f"first deploy: {first:.2f}s, {writes_first} writes; second: {time.perf_counter() - t:.2f}s, "
              f"{len(emu.writes())} writes, {len(emu.api_requests())} reads")
        with emu.lock:
            emu.jobs.clear()
        emu.latency = 0.0
        emu.faults = Faults(rate=0.2, kinds=("throttle", "503", "reset", "lost"), retry_after=0, seed=5)
        t = time.perf_counter()
        runs = 0
        while True:
            runs += 1
            try:
                deploy(ctx)
                break
            except Exception as exc:
                print(f"  run {runs}: {exc}")
                if runs > 5:
                    raise
        emu.faults = Faults()
        faults = len(emu.faults_injected)
        dupes = [k for k in range(JOBS) if len(emu.jobs_by_tag("mlops_job_key", f"job{k}")) != 1]
        emu.reset_log()
        again = deploy(ctx)
        print(f"20% faults (incl. lost answers): converged in {runs} run(s), {time.perf_counter() - t:.1f}s, "
              f"{faults} faults, {len(emu.jobs_created) - JOBS} creates sent, "
              f"duplicates left {len(dupes)}, then {again.plan.counts()} with {len(emu.writes())} writes")


if __name__ == "__main__":
    main()
