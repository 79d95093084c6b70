"""The Spark tables adapter beyond the port's contract (tests/contract): parquet snapshots,
catalog tables, type checks, the choice of adapter per target."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from devops_mlops.adapters.spark import tables as spark_tables
from devops_mlops.adapters.spark.tables import CURRENT, SparkTables
from devops_mlops.config import TablesCfg, Target
from devops_mlops.errors import InputError


def _ctx(tmp_path, backend="local", engine="pandas", **tables):
    target = Target(backend=backend, engine=engine, tables=TablesCfg(**tables))
    target.name = "t"
    return SimpleNamespace(target=target, config=SimpleNamespace(path=tmp_path / "mlops.yaml"), root=tmp_path,
                           state_dir=tmp_path / ".mlops")


def test_a_local_spark_target_gets_parquet_tables_under_the_state_dir(spark, tmp_path):
    t = spark_tables.from_context(_ctx(tmp_path, engine="spark"))
    assert isinstance(t, SparkTables) and t.spark is spark and t.format == "parquet"
    assert t.location("predictions") == f"{tmp_path}/.mlops/spark-tables/predictions"
    with pytest.raises(InputError, match="invalid table name"):
        t.location("../x")


def test_replace_where_switches_to_one_new_snapshot(spark, tmp_path):
    t = SparkTables(spark, root=tmp_path)
    t.replace_where("p", pd.DataFrame({"batch_id": [1, 1, 2], "v": [1.0, 2.0, 3.0]}), column="batch_id", value=1)
    first = json.loads((tmp_path / "p" / CURRENT).read_text())["snapshot"]
    t.replace_where("p", pd.DataFrame({"batch_id": [1], "v": [9.0]}), column="batch_id", value=1)
    current = json.loads((tmp_path / "p" / CURRENT).read_text())
    live = current["snapshot"]
    assert [(f["name"], f["type"]) for f in current["schema"]["fields"]] == [("batch_id", "long"), ("v", "double")]
    assert live != first and sorted(p.name for p in (tmp_path / "p").iterdir() if p.is_dir()) == [live]
    got = t.read("p").sort_values(["batch_id", "v"])
    assert got[["batch_id", "v"]].values.tolist() == [[1, 9.0], [2, 3.0]]
    assert list(t.read("p", columns=["v"], where={"batch_id": [2]})["v"]) == [3.0]


def test_types_survive_the_round_trip(spark, tmp_path):
    t = SparkTables(spark, root=tmp_path)
    frame = pd.DataFrame({
        "batch_id": [3], "name": pd.Series(["m"], dtype="category"), "n": [2],
        "day": [dt.date(2024, 1, 2)], "at": [pd.Timestamp("2024-01-02 03:04:05", tz="UTC")],
    })
    t.append("typed", frame)
    got = t.read("typed").iloc[0]
    assert (got["batch_id"], got["name"], got["n"], got["day"]) == (3, "m", 2, dt.date(2024, 1, 2))
    assert pd.Timestamp(got["at"]).tz_localize(None) == pd.Timestamp("2024-01-02 03:04:05")


def test_a_column_that_does_not_fit_is_refused_and_the_table_is_unchanged(spark, tmp_path):
    t = SparkTables(spark, root=tmp_path)
    t.append("m", pd.DataFrame({"k": ["a"], "n": [1]}))
    with pytest.raises(InputError, match="do not fit"):
        t.append("m", pd.DataFrame({"k": ["b"], "n": ["not a number"]}))
    with pytest.raises(InputError, match="no column 'batch_id'"):
        t.replace_where("m", pd.DataFrame({"k": ["c"]}), column="batch_id", value=1)
    assert t.read("m")["k"].tolist() == ["a"]


def test_catalog_tables_by_name(spark, tmp_path):
    t = SparkTables(spark, catalog="spark_catalog", schema="default")
    assert t.format == "parquet"  # no Delta jars here; Delta on Databricks
    assert t.location("mlops_catalog_t") == "spark_catalog.default.mlops_catalog_t"
    try:
        t.append("mlops_catalog_t", pd.DataFrame({"batch_id": [1, 2], "v": [1.0, 2.0]}))
        t.replace_where("mlops_catalog_t", pd.DataFrame({"batch_id": [2], "v": [5.0]}), column="batch_id", value=2)
        assert t.exists("mlops_catalog_t")
        assert sorted(t.read("mlops_catalog_t")["v"]) == [1.0, 5.0]
    finally:
        spark.sql("DROP TABLE IF EXISTS spark_catalog.default.mlops_catalog_t")


def test_a_databricks_target_uses_spark_only_inside_a_databricks_runtime(spark, tmp_path, monkeypatch):
    ctx = _ctx(tmp_path, backend="databricks", catalog="main", schema="mlops", path=str(tmp_path / "agent"))
    assert not isinstance(spark_tables.from_context(ctx), SparkTables)  # a pipeline agent: deltalake
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "16.4")
    t = spark_tables.from_context(ctx)
    assert isinstance(t, SparkTables) and t.location("metrics") == "main.mlops.metrics"
    assert t.format == "parquet"  # the local engine standing in for Databricks has no Delta


def test_engine_key_is_for_local_targets(tmp_path):
    from devops_mlops.config import load_config
    from devops_mlops.errors import ConfigError

    (tmp_path / "mlops.yaml").write_text(
        "project: p\nmodel: {name: m}\ntargets:\n  db:\n    backend: databricks\n    workspace_dir: /x\n"
        "    engine: spark\n"
    )
    with pytest.raises(ConfigError, match="engine.*local targets only"):
        load_config(Path(tmp_path / "mlops.yaml"))
