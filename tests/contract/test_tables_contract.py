"""The tables port's contract, run over the local adapter (deltalake under .mlops/tables),
the Databricks adapter's deltalake path (as on a pipeline agent, no Spark, no local lock),
the Spark adapter on the local Spark engine (parquet tables: no Delta jars here) and the
in-memory fake (devops_mlops/testing/fakes/tables.py)."""

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
from devops_mlops.errors import InputError
from devops_mlops.testing.fakes.tables import FakeTables


def _ctx(tmp_path, backend, **tables):
    target = Target(backend=backend, tables=TablesCfg(**tables))
    target.name = backend
    return SimpleNamespace(
        target=target,
        config=SimpleNamespace(path=tmp_path / "mlops.yaml"),
        root=tmp_path,
        state_dir=tmp_path / ".mlops",
    )


@pytest.fixture(params=[
    "local", "databricks-deltalake", pytest.param("spark", marks=pytest.mark.spark),
    pytest.param("fake", marks=pytest.mark.fast),
])
def tables(request, tmp_path):
    if request.param == "fake":
        return FakeTables()
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


def test_only_spark_tables_name_a_spark_session(tables):
    assert (tables.spark is not None) == isinstance(tables, spark_tables.SparkTables)


def test_invalid_names_are_refused(tables):
    with pytest.raises(InputError, match="invalid table name"):
        tables.location("no spaces")


def test_read_selected_columns_in_their_order(tables):
    assert list(tables.read("features", columns=["key", "batch_id"]).columns) == ["key", "batch_id"]  # no table
    tables.append("features", _batch(1, 3, x=[1.0, 2.0, 3.0]))
    frame = tables.read("features", where={"batch_id": 1}, columns=["x", "key"])
    assert list(frame.columns) == ["x", "key"] and sorted(frame["x"]) == [1.0, 2.0, 3.0]
    with pytest.raises(InputError, match="no column 'nope'"):
        tables.read("features", where={"nope": 1})


def test_read_chunks_of_one_batch(tables):
    assert list(tables.read_chunks("features", where={"batch_id": 1}, chunk_rows=2)) == []  # no table
    tables.append("features", _batch(1, 5))
    tables.append("features", _batch(2, 4, start=100))
    chunks = list(tables.read_chunks("features", where={"batch_id": 2}, columns=["key", "key", "gone"],
                                     chunk_rows=3))
    assert [len(c) for c in chunks] == [3, 1]
    assert all(list(c.columns) == ["key"] for c in chunks)
    assert sorted(k for c in chunks for k in c["key"]) == [100, 101, 102, 103]


def test_an_empty_append_adds_nothing_and_replace_where_checks_its_column(tables):
    tables.append("metrics", _batch(1, 2))
    tables.append("metrics", _batch(1, 0))
    assert len(tables.read("metrics")) == 2
    with pytest.raises(InputError, match="null"):
        tables.replace_where("metrics", _batch(1, 1), column="batch_id", value=None)
    with pytest.raises(InputError, match="no column 'model'"):
        tables.replace_where("metrics", _batch(1, 1), column="model", value="m")


def test_a_lossy_write_is_refused(tables):
    if isinstance(tables, spark_tables.SparkTables):
        pytest.skip("Spark casts on write with its own rules (ANSI mode decides): tests/adapters/spark")
    tables.append("labels", pd.DataFrame({"batch_id": [1], "count": [3]}))
    tables.append("labels", pd.DataFrame({"batch_id": [2], "count": [4.0]}))  # a whole float fits
    with pytest.raises(InputError, match="count"):
        tables.append("labels", pd.DataFrame({"batch_id": [3], "count": [4.5]}))
    assert sorted(tables.read("labels")["count"]) == [3, 4]


def test_categories_are_stored_as_their_values(tables):
    frame = _batch(1, 2)
    frame["model_name"] = pd.Series(["m", "m"], dtype="category")
    tables.replace_where("predictions", frame, column="batch_id", value=1)
    assert not isinstance(tables.read("predictions")["model_name"].dtype, pd.CategoricalDtype)
    assert set(tables.read("predictions")["model_name"]) == {"m"}


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

    if isinstance(tables, FakeTables):
        pytest.skip("no other process can write an in-memory table")
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
