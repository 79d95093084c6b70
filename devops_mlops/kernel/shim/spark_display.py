"""The notebook globals ``spark``, ``display`` and ``displayHTML``, and ``%sql`` cells run through ``spark.sql``."""

from __future__ import annotations

import os

from . import state
from .errors import SparkNotAvailable


# named as the notebook sees its type (`type(spark).__name__`)
class _LazySpark:
    """`spark`: the local Spark engine's session (a client of the engine that started this kernel,
    when there is one) when pyspark is installed, else a clear error on first use."""

    _session = None

    def _get(self):
        if _LazySpark._session is None:
            try:
                import pyspark.sql  # type: ignore  # noqa: F401
            except ImportError:
                raise SparkNotAvailable(
                    "this notebook needs Spark: `spark` is not available locally because pyspark is not installed "
                    "(pip install pyspark, or run it on Databricks with `mlops --target <databricks target> test`)"
                ) from None
            try:
                from devops_mlops.kernel import spark as engine
            except ImportError:  # an isolated runtime without the toolkit: pyspark alone
                from pyspark.sql import SparkSession  # type: ignore

                url = os.environ.get("MLOPS_SPARK_REMOTE")
                builder = SparkSession.builder
                _LazySpark._session = (builder.remote(url) if url else builder.master("local[2]")).getOrCreate()
            else:
                _LazySpark._session = engine.session()
        return _LazySpark._session

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._get(), name)

    def __repr__(self):
        return "<spark: local SparkSession, created on first use>"


def split_sql(text: str) -> list[str]:
    """The statements of a SQL cell (split on ``;`` outside quotes and ``--`` comments)."""
    out, buf, quote, i = [], [], None, 0
    while i < len(text):
        ch = text[i]
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"', "`"):
            quote = ch
            buf.append(ch)
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif ch == ";":
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    out.append("".join(buf))
    return [s.strip() for s in out if s.strip()]


def run_sql(text: str):
    """A ``%sql`` cell: each statement through ``spark.sql``; the last one's rows are shown."""
    spark = state.ip.user_ns.get("spark") if state.ip is not None else None
    spark = spark if spark is not None else _LazySpark()
    result = None
    for statement in split_sql(text):
        result = spark.sql(statement)
    if result is not None:
        state.ip.user_ns["_sqldf"] = result  # as on Databricks: the last SQL cell's DataFrame
        if result.columns:
            result.show(20, truncate=False)
    return None


def display(*objs, **kwargs):
    """The notebook global ``display``: a Spark DataFrame shown as a table, anything else as IPython shows it."""
    for obj in objs:
        if hasattr(obj, "show") and hasattr(obj, "schema"):  # a Spark DataFrame
            obj.show()
        else:
            from IPython.display import display as ipy_display

            ipy_display(obj)


def displayHTML(html):
    """The notebook global ``displayHTML``."""
    from IPython.display import HTML
    from IPython.display import display as ipy_display

    ipy_display(HTML(html))
