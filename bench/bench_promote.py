"""`mlops model promote` end to end on the local backend (sqlite MLflow store, Delta promotions
log), with the import time split out: each step runs as the CLI does, in a fresh process.

Figures: wall time of `mlops --help` (imports nothing heavy), of `python -c "import mlflow"`, of
the imports a promote needs (mlflow + pyfunc + deltalake + pandas), and of `mlops model promote`
(gated: validate candidate and production on the evaluation table, then alias, tags, log row).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEAT = 3


def _wall(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, seconds spent importing modules) of one fresh process (``-X importtime``)."""
    t = time.perf_counter()
    out = subprocess.run(
        [args[0], "-X", "importtime", *args[1:]], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - t
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({out.returncode}): {out.stderr[-2000:]}")
    imports_us = 0
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            self_us = line.split(":", 1)[1].split("|")[0].strip()
            if self_us.isdigit():
                imports_us += int(self_us)
    return elapsed, imports_us / 1e6


def _setup(root: Path, versions: int) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from devops_mlops.config import load_config
    from devops_mlops.context import Context

    (root / "mlops.yaml").write_text(
        "project: bench\nmodel: {name: toll, label: y}\n"
        "promotion: {thresholds: {rmse: {max: 1.0}}, min_improvement: {rmse: 0.0}, evaluation_data: eval}\n"
    )
    rng = np.random.default_rng(0)
    X = pd.DataFrame({f"x{i}": rng.normal(size=5000) for i in range(8)})
    y = X.sum(axis=1) + rng.normal(scale=0.1, size=len(X))
    cfg = load_config(root / "mlops.yaml")
    ctx = Context(cfg, cfg.target())
    ctx.tables.append("eval", X.assign(y=y))
    for _ in range(versions):
        ctx.registry.log_sklearn_model(LinearRegression().fit(X, y), "toll", X=X)


def main() -> None:
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    mlops = [sys.executable, "-m", "devops_mlops"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        versions = 1 + 2 * REPEAT
        _setup(root, versions)
        help_s = [_wall([*mlops, "--help"], root, env) for _ in range(REPEAT)]
        bare = [_wall([sys.executable, "-c", "pass"], root, env) for _ in range(REPEAT)]
        imp_mlflow = [_wall([sys.executable, "-c", "import mlflow"], root, env) for _ in range(REPEAT)]
        _wall([*mlops, "model", "promote", "--version", "1", "--to", "production"], root, env)
        gated, forced, noop = [], [], []
        for n in range(REPEAT):
            v = 2 + 2 * n
            gated.append(_wall([*mlops, "model", "promote", "--version", str(v), "--to", "production"], root, env))
            forced.append(
                _wall([*mlops, "model", "promote", "--version", str(v + 1), "--to", "production", "--force"], root, env)
            )
            noop.append(_wall([*mlops, "model", "promote", "--version", str(v + 1), "--to", "production"], root, env))
    print(f"local backend, eval table 5000 rows x 8 features, median of {REPEAT} fresh processes")
    print("wall = imports (every module imported during the run, from -X importtime) + the rest")
    for label, runs in (
        ("python -c pass", bare),
        ("mlops --help", help_s),
        ("python -c 'import mlflow'", imp_mlflow),
        ("mlops model promote (gated)", gated),
        ("mlops model promote --force", forced),
        ("mlops model promote (already holder)", noop),
    ):
        wall = statistics.median(r[0] for r in runs)
        imports = statistics.median(r[1] for r in runs)
        print(f"{label + ':':40s}{wall:6.2f}s wall = {imports:5.2f}s imports + {wall - imports:5.2f}s rest")


if __name__ == "__main__":
    main()
