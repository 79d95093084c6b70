"""Notebooks on the local Spark engine: `spark` is a client of the engine, `%sql` cells run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import SimpleNamespace

from devops_mlops.kernel import spark as engine
from devops_mlops.kernel.runner import run_notebook

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "runtime"
REPO = Path(__file__).resolve().parents[2]


def test_sql_cells_run_through_spark_sql_on_the_engine(spark, tmp_path):
    env = engine.kernel_env(SimpleNamespace(target=SimpleNamespace(engine="spark"), dry_run=False))
    r = run_notebook(CORPUS / "spark_sql.py", env=env, timeout=300)
    assert r.skipped_cells == []
    assert "|total|sep|" in r.output.replace(" ", "") and "|6|;|" in r.output.replace(" ", "")  # shown
    # cells 1 and 2 ran (the view, then the python asserts); cell 3 queries a missing table
    assert r.status == "failed" and r.cell == 3 and r.line == 15, (r.error, r.cell, r.line)
    assert "nowhere_at_all" in r.error and "TABLE_OR_VIEW_NOT_FOUND" in r.error


def test_without_the_engine_sql_cells_are_skipped(tmp_path):
    r = run_notebook(CORPUS / "spark_sql.py", timeout=120)
    assert [s["cell"] for s in r.skipped_cells] == [1, 3]
    assert r.status == "failed" and "_sqldf" in r.error  # cell 2 needs cell 1's result


def test_spark_without_pyspark_is_a_clear_error(tmp_path):
    shadow = tmp_path / "no-pyspark" / "pyspark"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('pyspark is not installed here')\n")
    shutil.copy(CORPUS / "spark_needed.py", tmp_path / "spark_needed.py")
    path = os.pathsep.join([str(shadow.parent), str(REPO)])
    r = run_notebook(tmp_path / "spark_needed.py", timeout=120, env={"PYTHONPATH": path})
    assert r.status == "failed"
    assert "needs Spark" in r.error and r.line == 2
