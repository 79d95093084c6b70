"""Registry figures on the emulated Databricks workspace (its MLflow APIs, the real mlflow client).

1. Promotion across catalogs of a ~10 MB model: `model promote --from staging` (copy into
   another catalog's model, gate, champion), in process after start-up, against the physical
   limit of the same run: moving the same files once through the Files API (download each, upload
   it to a volume) with the same SDK. Bytes uploaded, bytes read and requests of each.
2. `mlops doctor` on a ready target: requests it makes and its time after start-up.

Usage: python bench/bench_registry.py [MODEL_MB]   (default 10)
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

MB = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
TOKEN = "dapi-bench-registry"


def _register(emu, blob_bytes: int) -> int:
    import mlflow
    from mlflow.models import infer_signature
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = 3 * X.a - 2 * X.b
    model = LinearRegression().fit(X, y)
    model.padding_ = rng.integers(0, 255, size=blob_bytes, dtype=np.uint8)  # the model's size, incompressible
    mlflow.set_tracking_uri("databricks")
    mlflow.set_registry_uri("databricks-uc")
    mlflow.set_experiment("/Shared/bench")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model", signature=infer_signature(X, model.predict(X)),
                                        registered_model_name="main.ml.demand", pip_requirements=["scikit-learn"],
                                        serialization_format="cloudpickle")
    X.assign(y=y).to_parquet("eval.parquet")
    return int(info.registered_model_version)


def main() -> None:
    from devops_mlops.config import load_config
    from devops_mlops.context import Context
    from devops_mlops.ops.doctor import doctor
    from devops_mlops.ops.model_copy import promote_from
    from devops_mlops.testing.databricks_emulator import DatabricksEmulator

    os.environ.update(MLFLOW_DISABLE_TELEMETRY="true", DATABRICKS_TOKEN=TOKEN)
    with tempfile.TemporaryDirectory() as tmp, DatabricksEmulator(token=TOKEN) as emu:
        os.chdir(tmp)
        os.environ["DATABRICKS_HOST"] = emu.url
        version = _register(emu, int(MB * 1024 * 1024))
        files = emu.mlflow.files_under(f"/Models/main/ml/demand/{version}")
        size = sum(len(v) for v in files.values())
        Path("mlops.yaml").write_text(
            "project: bench\nmodel: {name: main.ml.demand, label: y}\n"
            "promotion: {thresholds: {rmse: {max: 1.0}}, evaluation_data: eval.parquet}\n"
            f"targets:\n  staging:\n    backend: databricks\n    host: {emu.url}\n    workspace_dir: /Shared/b\n"
            "    tables: {catalog: main, schema: ml}\n    artifacts: {path: /Volumes/main/ml/artifacts}\n"
            f"  production:\n    backend: databricks\n    host: {emu.url}\n    workspace_dir: /Shared/b-prod\n"
            "    model: {name: prod.ml.demand}\n")
        cfg = load_config("mlops.yaml")
        prod = Context(cfg, cfg.target("production"))
        prod.registry  # opened before the clock starts: start-up is not the copy

        # the limit: the same files once, down and up, through the Files API
        from devops_mlops.adapters.databricks.client import build_client

        w = build_client(cfg.target("staging"))
        emu.volumes.add_volume("main.ml.scratch")
        start_requests, uploaded_before = len(emu.requests), emu.volumes.bytes_written()
        t = time.perf_counter()
        for rel in files:
            data = w.files.download(f"/Models/main/ml/demand/{version}/{rel}").contents.read()
            w.files.upload(f"/Volumes/main/ml/scratch/{rel}", io.BytesIO(data), overwrite=True)
        limit = time.perf_counter() - t
        limit_requests = len(emu.requests) - start_requests
        limit_up = emu.volumes.bytes_written() - uploaded_before

        start_requests, uploaded_before = len(emu.requests), emu.mlflow.bytes_written()
        t = time.perf_counter()
        copy, result = promote_from(prod, "staging", version, "production")
        took = time.perf_counter() - t
        copy_requests = [r for r in emu.requests[start_requests:] if r.path != "/.well-known/databricks-config"]
        uploaded = emu.mlflow.bytes_written() - uploaded_before
        assert result is not None and result.changed and copy.how == "copy_model_version", (copy, result)
        print(f"model: {size / 1e6:.1f} MB in {len(files)} files")
        print(f"promote --from staging (copy_model_version, gate on 200 rows, champion): {took:.2f}s, "
              f"{len(copy_requests)} API requests, {uploaded / 1e6:.1f} MB uploaded "
              f"({uploaded / size:.2f}x the model)")
        by_path: dict[str, int] = {}
        for r in copy_requests:
            key = f"{r.method} {r.path}"
            key = key if "/fs/" not in key and "/storage/" not in key else f"{r.method} (files)"
            by_path[key] = by_path.get(key, 0) + 1
        print("  requests: " + ", ".join(f"{k} x{v}" for k, v in sorted(by_path.items(), key=lambda kv: -kv[1])))
        print(f"the same files once through the Files API: {limit:.2f}s, {limit_requests} requests, "
              f"{limit_up / 1e6:.1f} MB uploaded; ratio {took / limit:.1f}x")
        again_start = len(emu.requests)
        t = time.perf_counter()
        copy2, result2 = promote_from(prod, "staging", version, "production")
        print(f"again (already copied, already champion): {time.perf_counter() - t:.2f}s, "
              f"{len(emu.requests) - again_start} requests, copied={copy2.copied}, changed={result2.changed}")

        # doctor on a ready target
        emu.catalog.add_schema("main.ml")
        emu.catalog.grant("catalog", "main", emu.user, "USE_CATALOG")
        emu.catalog.grant("schema", "main.ml", emu.user, "ALL_PRIVILEGES")
        emu.volumes.add_volume("main.ml.artifacts")
        staging = Context(cfg, cfg.target("staging"))
        staging.registry  # start-up: imports and the registry client
        from devops_mlops.adapters.databricks.client import client_for

        client_for(staging)
        before = len(emu.requests)
        t = time.perf_counter()
        report = doctor(staging)
        took = time.perf_counter() - t
        made = [r for r in emu.requests[before:] if r.path != "/.well-known/databricks-config"]
        assert report.ok, report.lines()
        print(f"mlops doctor on a ready target: {took:.2f}s after start-up, {len(made)} requests")


if __name__ == "__main__":
    main()
