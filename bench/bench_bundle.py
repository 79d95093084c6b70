"""Bundle interop figures against the Databricks emulator (through the real SDK).

1. Shapes: each bundle shape of ``devops_mlops.testing.bundle_project`` in a project of its own:
   ``mlops deploy --dry-run`` plans it (exit 0), ``deploy`` creates it, a second deploy finds it
   unchanged with 0 writes. Prints "N of M bundle shapes deploy unchanged".
2. Speed: ``mlops deploy --dry-run`` over 50 bundle job files (every shape, repeated) in this
   process, against the floor of the same work: parsing those YAML files with PyYAML's C loader
   and listing the target's jobs once (what any tool must do before it can plan). Best of 5,
   alternating.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

from devops_mlops.config import load_config
from devops_mlops.context import Context
from devops_mlops.errors import MlopsError
from devops_mlops.ops.deploy import deploy
from devops_mlops.testing.bundle_project import SHAPES, write_bundle_project
from devops_mlops.testing.databricks_emulator import DatabricksEmulator

FILES = 50
ROUNDS = 5


def shapes(emu_url: str, root: Path, emu) -> tuple[int, list[str]]:
    ok, failed = 0, []
    for shape in SHAPES:
        folder = root / shape
        cfg = load_config(write_bundle_project(folder, [shape], host=emu_url, name=f"p_{shape}"))
        try:
            deploy(Context(cfg, cfg.target("dev"), dry_run=True))
            deploy(Context(cfg, cfg.target("dev")))
            emu.reset_log()
            again = deploy(Context(cfg, cfg.target("dev")))
            unchanged = set(again.plan.counts()) == {"unchanged"} and emu.writes() == []
        except MlopsError as exc:
            failed.append(f"{shape}: {exc.one_line()}")
            continue
        if unchanged:
            ok += 1
        else:
            failed.append(f"{shape}: second deploy {again.plan.counts()}, {len(emu.writes())} writes")
    return ok, failed


def speed(emu_url: str, root: Path) -> tuple[float, float, int, int]:
    per_shape = -(-FILES // len(SHAPES))
    cfg = load_config(write_bundle_project(root, list(SHAPES), host=emu_url, copies=per_shape))
    files = sorted(root.rglob("*.yml"))
    ctx_jobs = Context(cfg, cfg.target("dev")).jobs
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    ours, floor = [], []
    jobs = 0
    for _ in range(ROUNDS):
        t = time.perf_counter()
        result = deploy(Context(cfg, cfg.target("dev"), dry_run=True))
        ours.append(time.perf_counter() - t)
        jobs = len(result.plan.actions)
        t = time.perf_counter()
        for f in files:
            yaml.load(f.read_text(), Loader=loader)
        ctx_jobs.list()
        floor.append(time.perf_counter() - t)
    return min(ours), min(floor), len(files), jobs


def main() -> None:
    os.environ["DATABRICKS_TOKEN"] = "dapi-bench"
    with tempfile.TemporaryDirectory() as tmp, DatabricksEmulator(token="dapi-bench") as emu:
        ok, failed = shapes(emu.url, Path(tmp) / "shapes", emu)
        print(f"{ok} of {len(SHAPES)} bundle shapes deploy unchanged (plan, deploy, second deploy with 0 writes)")
        for line in failed:
            print(f"  not: {line}")
        ours, floor, files, jobs = speed(emu.url, Path(tmp) / "speed")
        load = os.getloadavg()[0]
        print(f"deploy --dry-run of {files} bundle files ({jobs} jobs): {ours:.3f}s against {floor:.3f}s for "
              f"parsing them and listing the jobs once: {ours / floor:.1f}x (best of {ROUNDS}, load {load:.1f})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
