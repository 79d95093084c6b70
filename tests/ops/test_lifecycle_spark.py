"""`mlops lifecycle` on the local Spark engine (the example's `local-spark` target): the same
expectations as on the default engine, with the tables written by Spark and the batches scored
by `mlflow.pyfunc.spark_udf`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devops_mlops.testing import project as sandbox

MLOPS = str(Path(sys.executable).with_name("mlops"))


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.timeout(1500)
def test_the_lifecycle_on_the_spark_engine_behaves_as_designed(tmp_path):
    folder = sandbox.make_project(tmp_path / "proj")
    # the retrain tries in process: the notebooks' kernels on the engine are the jobs' (training, inference)
    args = ["--target", "local-spark", "--format", "json", "lifecycle", "--retrainer", "in-process"]
    done = subprocess.run([MLOPS, *args], cwd=folder,
                          capture_output=True, text=True, timeout=1500, env={**os.environ})
    assert done.returncode == 0, done.stderr[-4000:]
    doc = json.loads(done.stdout)
    assert doc["ok"] and doc["target"] == "local-spark"
    assert all(e["ok"] for e in doc["expectations"]) and len(doc["expectations"]) >= 5
    outcomes = [m["outcome"] for m in doc["monitoring"]]
    assert "in-range" in outcomes and outcomes.count("retrained") == 1 and outcomes[-1] == "alerted"
    infer = next(s for s in doc["steps"] if s["name"] == "infer")
    assert infer["data"]["engine"] == "spark_udf" and infer["data"]["rows"] > 0
    spark_tables = folder / ".mlops" / "spark-tables"
    assert {"raw_traffic", "traffic_features", "predictions", "metrics"} <= {p.name for p in spark_tables.iterdir()}
    assert not (folder / ".mlops" / "tables" / "predictions").exists()  # nothing went through deltalake
    assert "Traceback" not in done.stderr
