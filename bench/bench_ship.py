"""Shipping figures: wheel build time (cold, and reused when the sources did not change), and a
deploy with nothing changed against the emulator (20 ms latency per request): bytes uploaded and
job writes, both expected 0, through the emulator's counters."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from devops_mlops.config import load_config
from devops_mlops.context import Context
from devops_mlops.ops.deploy import deploy
from devops_mlops.ops.wheels import build_wheel
from devops_mlops.testing.databricks_emulator import DatabricksEmulator
from devops_mlops.testing.shipping_project import VOLUME, shipping_project

BUILDS = 3


def job_writes(emu) -> int:
    return len(emu.requests_by_path(r"/api/2\.\d/jobs/(create|reset|update|delete)$", "POST"))


def main() -> None:
    os.environ["DATABRICKS_TOKEN"] = "dapi-bench"
    with tempfile.TemporaryDirectory() as tmp, DatabricksEmulator(token="dapi-bench", latency=0.02) as emu:
        root = Path(tmp) / "project"
        emu.volumes.add_volume(VOLUME)
        shipping_project(root, host=emu.url, tracking_uri="sqlite:///unused.db")
        cold = []
        for i in range(BUILDS):
            built = build_wheel(root, Path(tmp) / f"cache{i}")
            cold.append(built.seconds)
        warm = build_wheel(root, Path(tmp) / "cache0")
        print(f"wheel build ({built.path.name}, {built.size} bytes): cold median {statistics.median(cold):.2f}s "
              f"over {BUILDS}; unchanged sources {warm.seconds * 1000:.0f} ms (reused: {warm.cached}); "
              f"{BUILDS} cold builds gave {len({build_wheel(root, Path(tmp) / f'cache{i}').sha256 for i in range(BUILDS)})}"
              " distinct hash(es)")
        ctx = Context(load_config(root / "mlops.yaml"), load_config(root / "mlops.yaml").target("dev"))
        t = time.perf_counter()
        first = deploy(ctx)
        first_s = time.perf_counter() - t
        print(f"first deploy: {first.shipped.uploaded_bytes} bytes uploaded ({emu.volumes.bytes_written()} "
              f"through the Files API), {job_writes(emu)} job writes, {first_s:.2f}s")
        emu.reset_log()
        cfg = load_config(root / "mlops.yaml")
        t = time.perf_counter()
        again = deploy(Context(cfg, cfg.target("dev")))
        print(f"deploy with nothing changed: {emu.volumes.bytes_written()} bytes uploaded, {job_writes(emu)} job "
              f"writes, {len(emu.writes())} writes in all, {len(emu.api_requests())} reads, "
              f"{time.perf_counter() - t:.2f}s (plan: {again.plan.counts()}, artifact "
              f"{again.shipped.artifacts[0].op})")


if __name__ == "__main__":
    main()
