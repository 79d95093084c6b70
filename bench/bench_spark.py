"""Benchmark: the local Spark engine against the default engine (pandas + deltalake).

    .venv/bin/python bench/bench_spark.py [--skip-lifecycle]

Prints, each in a fresh process: the Spark session start (the JVM, once per `mlops` command),
the Spark Connect client start of a kernel sharing that engine, a per-kernel classic session
start (what every notebook would pay without the shared engine), and `mlops lifecycle` on the
`local-spark` target against the `local` one in the same project (seconds, and the ratio).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PY = sys.executable
MLOPS = str(Path(PY).with_name("mlops"))

SERVER = """
import json, subprocess, sys, time
t = time.perf_counter()
from devops_mlops.kernel import spark as engine
engine.session()
start = time.perf_counter() - t
env = {**__import__("os").environ, engine.REMOTE_ENV: engine.remote_url()}
client = ("import time, json; t = time.perf_counter(); from devops_mlops.kernel import spark as engine; "
          "s = engine.session(); s.range(1).count(); print(json.dumps(time.perf_counter() - t))")
clients = [json.loads(subprocess.run([sys.executable, "-c", client], env=env, capture_output=True, text=True,
                                     check=True).stdout) for _ in range(3)]
print(json.dumps({"start": start, "java": engine._state["java"].source, "clients": clients}))
"""
CLASSIC = """
import json, time
t = time.perf_counter()
from devops_mlops.kernel import spark as engine
engine.session().range(1).count()
print(json.dumps(time.perf_counter() - t))
"""


def run_py(code: str) -> object:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MLOPS_SPARK_REMOTE", None)
    done = subprocess.run([PY, "-W", "ignore", "-c", code], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def lifecycle(folder: Path, target: str) -> tuple[float, bool]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    done = subprocess.run([MLOPS, "--target", target, "--format", "json", "lifecycle"], cwd=folder,
                          capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
    return seconds, done.returncode == 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-lifecycle", action="store_true")
    args = ap.parse_args()
    server = run_py(SERVER)
    classic = run_py(CLASSIC)
    print(f"spark session start (JVM, {server['java']} java):  {server['start']:6.1f} s")
    print(f"kernel joining it (Spark Connect client + 1 query): {min(server['clients']):6.1f} s "
          f"(of 3: {', '.join(f'{c:.1f}' for c in server['clients'])})")
    print(f"kernel with its own classic session + 1 query:      {classic:6.1f} s")
    if args.skip_lifecycle:
        return 0
    from devops_mlops.testing import project as sandbox

    folder = sandbox.make_project(Path(tempfile.mkdtemp(prefix="bench-spark-")) / "proj")
    default_s, default_ok = lifecycle(folder, "local")
    spark_s, spark_ok = lifecycle(folder, "local-spark")
    print(f"mlops lifecycle, default engine (local):     {default_s:6.1f} s  {'ok' if default_ok else 'FAILED'}")
    print(f"mlops lifecycle, Spark engine (local-spark): {spark_s:6.1f} s  {'ok' if spark_ok else 'FAILED'}")
    print(f"ratio spark / default: {spark_s / default_s:.2f}x")
    return 0 if default_ok and spark_ok else 1


if __name__ == "__main__":
    sys.exit(main())
