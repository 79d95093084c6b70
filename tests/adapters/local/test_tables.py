import datetime as dt
from types import SimpleNamespace

import pandas as pd
import pytest

from devops_mlops.adapters.local import tables as local_tables
from devops_mlops.adapters.local.tables import DeltaTables, _sql_literal
from devops_mlops.adapters.spark import tables as spark_tables
from devops_mlops.config import TablesCfg, Target
from devops_mlops.errors import ConfigError, InputError


def _ctx(tmp_path, backend="local", **tables):
    target = Target(backend=backend, tables=TablesCfg(**tables))
    target.name = "t"
    config = SimpleNamespace(path=tmp_path / "mlops.yaml")
    return SimpleNamespace(target=target, config=config, root=tmp_path, state_dir=tmp_path / ".mlops")


def test_local_from_context_defaults_under_state_dir(tmp_path):
    t = local_tables.from_context(_ctx(tmp_path))
    assert t.location("predictions") == f"{tmp_path}/.mlops/tables/predictions"
    rel = local_tables.from_context(_ctx(tmp_path, path="data/delta"))
    assert rel.location("x") == f"{tmp_path}/data/delta/x"


def test_databricks_from_context_without_spark_needs_a_path(tmp_path):
    with pytest.raises(ConfigError, match="tables.path"):
        spark_tables.from_context(_ctx(tmp_path, backend="databricks"))
    t = spark_tables.from_context(
        _ctx(
            tmp_path, backend="databricks", path="abfss://c@acct.dfs.core.windows.net/mlops", storage_options={"a": "b"}
        )
    )
    assert isinstance(t, DeltaTables) and not t.is_local and t.lock_dir is None
    assert t.location("metrics") == "abfss://c@acct.dfs.core.windows.net/mlops/metrics"
    assert t.storage_options == {"a": "b"}


def test_names_are_checked(tmp_path):
    t = DeltaTables(tmp_path)
    for bad in ("../x", "a/b", "", "x y"):
        with pytest.raises(InputError, match="invalid table name"):
            t.location(bad)


def test_sql_literals():
    assert _sql_literal("it's") == "'it''s'"
    assert _sql_literal(3) == "3" and _sql_literal(True) == "true"
    assert _sql_literal(dt.date(2024, 1, 2)) == "'2024-01-02'"
    with pytest.raises(InputError):
        _sql_literal(None)


def test_lossy_cast_is_refused_and_safe_casts_are_applied(tmp_path):
    t = DeltaTables(tmp_path)
    t.append("m", pd.DataFrame({"k": ["a"], "n": [1]}))
    with pytest.raises(InputError, match="column 'n' is int64 in the table but the new rows have double"):
        t.append("m", pd.DataFrame({"k": ["b"], "n": [1.5]}))
    t.append("m", pd.DataFrame({"k": ["c"], "n": [2.0]}))  # a whole float is fine
    t.append("m", pd.DataFrame({"k": ["d"], "n": [None], "new": [None]}))  # all-null columns
    frame = t.read("m")
    assert sorted(frame["k"]) == ["a", "c", "d"]
    assert str(t.schema("m").field("n").type) == "int64"
    assert str(t.schema("m").field("new").type) == "string"


def test_timestamps_are_stored_in_microseconds_and_aware_ones_in_utc(tmp_path):
    t = DeltaTables(tmp_path)
    paris = pd.Timestamp("2024-03-01 12:00", tz="Europe/Paris")
    t.append("ts", pd.DataFrame({"at": [paris], "naive": [pd.Timestamp("2024-03-01 12:00:00.123456789")]}))
    schema = t.schema("ts")
    assert str(schema.field("at").type) == "timestamp[us, tz=UTC]"
    assert str(schema.field("naive").type) == "timestamp[us]"
    back = t.read("ts")
    assert back["at"][0] == paris


def test_replace_where_refuses_rows_outside_the_condition(tmp_path):
    t = DeltaTables(tmp_path)
    t.append("p", pd.DataFrame({"batch_id": ["a"], "v": [1]}))
    with pytest.raises(InputError, match="do not match the replace condition"):
        t.replace_where("p", pd.DataFrame({"batch_id": ["b"], "v": [2]}), column="batch_id", value="a")
    with pytest.raises(InputError, match="no column 'batch'"):
        t.replace_where("p", pd.DataFrame({"batch_id": ["a"]}), column="batch", value="a")
    assert t.read("p")["v"].tolist() == [1]


def test_read_unknown_column_and_columns_selection(tmp_path):
    t = DeltaTables(tmp_path)
    t.append("r", pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    with pytest.raises(InputError, match="no column 'zz'"):
        t.read("r", where={"zz": 1})
    assert list(t.read("r", columns=["b"]).columns) == ["b"]
    assert list(t.read("missing", columns=["b"]).columns) == ["b"]
    assert t.read("r", where={"b": None}).empty


def test_replace_where_takes_an_arrow_table_too(tmp_path):
    import pyarrow as pa

    t = DeltaTables(str(tmp_path / "tables"))
    t.append("p", pd.DataFrame({"batch_id": [1, 1, 2], "v": [1.0, 2.0, 3.0]}))
    t.replace_where("p", pa.table({"batch_id": [1], "v": [9.0]}), column="batch_id", value=1)
    got = t.read("p").sort_values("batch_id")
    assert got["v"].tolist() == [9.0, 3.0]
    with pytest.raises(InputError, match="no column 'batch_id'"):
        t.replace_where("p", pa.table({"v": [1.0]}), column="batch_id", value=1)
