"""The tables port's contract, run over the local adapter (deltalake under .mlops/tables),
the Databricks adapter's deltalake path (as on a pipeline agent, no Spark, no local lock)
and the Spark adapter on the local Spark engine (parquet tables: no Delta jars here)."""

import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pandas as pd
import pytest

from devops_mlops.adapters.local import tables as local_tables
from devops_mlops.adapters.spark import tables as spark_tables
from devops_mlops.config import TablesCfg, Target


def _ctx(tmp_path, backend, **tables):
    target = Target(backend=backend, tables=TablesCfg(**tables))
    target.name = backend
    return SimpleNamespace(
        target=target,
        config=SimpleNamespace(path=tmp_path / "mlops.yaml"),
        root=tmp_path,
        state_dir=tmp_path / ".mlops",
    )


@pytest.fixture(params=["local", "databricks-deltalake", pytest.param("spark", marks=pytest.mark.spark)])
def tables(request, tmp_path):
    if request.param == "local":
        return local_tables.from_context(_ctx(tmp_path, "local"))
    if request.param == "spark":
        request.getfixturevalue("spark")
        ctx = _ctx(tmp_path, "local")
        ctx.target.engine = "spark"
        return spark_tables.from_context(ctx)
    t = spark_tables.from_context(_ctx(tmp_path, "databricks", path=str(tmp_path / "remote")))
    t.lock_dir = None  # writers on different agents share no lock: only Delta's commit protocol
    return t


def _batch(batch_id, n, start=0, **extra):
    return pd.DataFrame({"batch_id": [batch_id] * n, "key": range(start, start + n), "prediction": [0.5] * n, **extra})


def test_missing_table(tables):
    assert not tables.exists("predictions")
    assert tables.read("predictions").empty
    assert tables.location("predictions").endswith("predictions")


def test_append_and_read_back(tables):
    tables.append("predictions", _batch("b1", 3))
    tables.append("predictions", _batch("b2", 2))
    assert tables.exists("predictions")
    frame = tables.read("predictions")
    assert len(frame) == 5 and set(frame.columns) == {"batch_id", "key", "prediction"}
    assert len(tables.read("predictions", where={"batch_id": "b2"})) == 2
    assert len(tables.read("predictions", where={"batch_id": ["b1", "b2"], "key": 0})) == 2


def test_schema_evolution_adds_columns(tables):
    tables.append("metrics", _batch("b1", 2))
    tables.append("metrics", _batch("b2", 2, model_version=[3, 3]))
    frame = tables.read("metrics").sort_values(["batch_id", "key"])
    assert frame["model_version"].isna().tolist() == [True, True, False, False]


def test_replace_where_is_idempotent_and_touches_one_batch(tables):
    tables.replace_where("predictions", _batch("b1", 3), column="batch_id", value="b1")  # creates
    tables.append("predictions", _batch("b2", 2))
    for _ in range(2):
        tables.replace_where("predictions", _batch("b1", 4, start=10), column="batch_id", value="b1")
    frame = tables.read("predictions")
    assert sorted(frame[frame.batch_id == "b1"]["key"]) == [10, 11, 12, 13]
    assert len(frame[frame.batch_id == "b2"]) == 2
    tables.replace_where("predictions", _batch("b1", 0), column="batch_id", value="b1")  # nothing for b1 now
    assert set(tables.read("predictions")["batch_id"]) == {"b2"}


WRITER = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from devops_mlops.adapters.local.tables import DeltaTables
    from devops_mlops.kernel import spark as engine
    from devops_mlops.adapters.spark.tables import SparkTables

    root, who, lock = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if lock == "spark":  # a Spark Connect client of the test process's engine (as a notebook kernel is)
        t = SparkTables(engine.session(), root=root)
    else:
        t = DeltaTables(root) if lock == "lock" else DeltaTables(root, lock_dir=None)
        t.lock_dir = t.lock_dir if lock == "lock" else None
    for i in range(6):
        t.append("events", pd.DataFrame({"writer": [who] * 3, "i": [i] * 3, "batch_id": [f"w{who}-{i}"] * 3}))
        shared = pd.DataFrame({"writer": [who] * 4, "i": [i] * 4, "batch_id": ["shared"] * 4})
        t.replace_where("events", shared, column="batch_id", value="shared")
    """
)


def test_two_writers_at_once_lose_nothing_and_corrupt_nothing(tables, tmp_path):
    from devops_mlops.kernel import spark as engine

    root = tables.root
    env = None
    if isinstance(tables, spark_tables.SparkTables):
        lock, env = "spark", {**os.environ, engine.REMOTE_ENV: engine.remote_url()}
    else:
        lock = "lock" if tables.lock_dir is not None else "nolock"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    procs = [
        subprocess.Popen([sys.executable, str(script), root, str(w), lock], stderr=subprocess.PIPE, text=True, env=env)
        for w in (1, 2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    frame = tables.read("events")
    own = frame[frame.batch_id != "shared"]
    assert len(own) == 2 * 6 * 3  # every append landed, once
    assert sorted(set(own.batch_id)) == sorted(f"w{w}-{i}" for w in (1, 2) for i in range(6))
    shared = frame[frame.batch_id == "shared"]
    assert len(shared) == 4 and shared.writer.nunique() == 1  # one writer's batch, whole, never both
