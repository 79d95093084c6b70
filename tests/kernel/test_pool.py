"""The kernel pool against real kernels: started ahead, handed on only after a pass, reset between
notebooks, the same results as a fresh kernel per notebook."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest

from devops_mlops.kernel.pool import kernel_pool, modules_imported_by
from devops_mlops.kernel.runner import run_many, run_notebook

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "runtime"
SAME = ["widgets.py", "params.ipynb", "exit_early.py", "fail_cell.py", "test_functions.py", "display.py",
        "run_main.py", "secrets.py"]


def _nb(path: Path, body: str) -> Path:
    path.write_text("# Databricks notebook source\n" + textwrap.dedent(body), encoding="utf-8")
    return path


@pytest.fixture()
def leaky(tmp_path):
    (tmp_path / "helper_mod.py").write_text("STATE = []\n", encoding="utf-8")
    first = _nb(tmp_path / "first.py", """
        import os, sys, warnings
        import helper_mod
        helper_mod.STATE.append(1)
        leaked_name = 1
        os.environ["LEAKED_VAR"] = "1"
        sys.path.append("/leaked/path")
        warnings.simplefilter("error")
        dbutils.widgets.text("w", "first")
        os.chdir("/")
        print("config", os.environ.get("MLOPS_CONFIG"))
        """)
    second = _nb(tmp_path / "second.py", """
        import os, sys, warnings
        import helper_mod
        assert "leaked_name" not in globals(), "a name of the notebook before"
        assert "LEAKED_VAR" not in os.environ, "an environment variable of the notebook before"
        assert "/leaked/path" not in sys.path
        assert helper_mod.STATE == [], "the project module kept its state"
        assert not any(f[0] == "error" and f[2] is Warning for f in warnings.filters)
        assert os.getcwd() == os.path.dirname(os.path.abspath(helper_mod.__file__))
        # a fresh kernel's __main__ has __spec__ (pyspark's Connect client reads it)
        assert hasattr(sys.modules["__main__"], "__spec__"), "__main__ lost its __spec__"
        try:
            dbutils.widgets.get("w")
            raise AssertionError("a widget of the notebook before")
        except Exception as exc:
            assert type(exc).__name__ == "InputWidgetNotDefined", exc
        print("config", os.environ.get("MLOPS_CONFIG"))
        """)
    broken = _nb(tmp_path / "broken.py", "poisoned = 1\n1 / 0\n")
    return first, second, broken


def test_a_kernel_is_handed_on_after_a_pass_reset_and_killed_after_a_failure(leaky, tmp_path):
    first, second, broken = leaky
    with kernel_pool(preload=["json"]) as pool:
        a = run_notebook(first, env={"MLOPS_CONFIG": "/a/mlops.yaml"})
        b = run_notebook(second)
        c = run_notebook(broken)
        d = run_notebook(second)
        e = run_notebook(second, env={"OTHER_SETTING": "x"})
        stats = dict(pool.stats)
    assert [r.status for r in (a, b, c, d, e)] == ["passed", "passed", "failed", "passed", "passed"], \
        [(r.status, r.error) for r in (a, b, c, d, e)]
    assert "config /a/mlops.yaml" in a.output and "config None" in b.output  # set per notebook
    assert a.kernel_pid == b.kernel_pid == c.kernel_pid  # handed on twice
    assert d.kernel_pid != c.kernel_pid  # the failed notebook's kernel was killed
    assert e.kernel_pid != d.kernel_pid  # another environment: another kernel
    assert stats["reused"] == 2 and stats["killed"] >= 1


def test_the_same_results_as_a_fresh_kernel_per_notebook(tmp_path):
    root = tmp_path / "runtime"
    shutil.copytree(CORPUS, root)
    paths = [root / name for name in SAME] * 2
    kwargs = dict(params={"name": "p", "n": "7", "alpha": "0.25", "flag": "true"},
                  env={"MLOPS_SECRET_KV_SCOPE__API_TOKEN": "s3cr3t-pool", "MLOPS_DBFS_ROOT": str(tmp_path / "dbfs")})
    fresh = run_many(paths, jobs=2, **kwargs)
    with kernel_pool(preload=modules_imported_by(paths)) as pool:
        pooled = run_many(paths, jobs=2, **kwargs)
        assert pool.stats["reused"] >= 8 and pool.stats["started"] <= 6
    shape = [(r.path, r.status, r.error, r.cell, r.line, r.exit_value, [(t.name, t.status) for t in r.tests])
             for r in fresh]
    assert [(r.path, r.status, r.error, r.cell, r.line, r.exit_value, [(t.name, t.status) for t in r.tests])
            for r in pooled] == shape
    assert all("s3cr3t-pool" not in r.output for r in pooled)


def test_preload_names_installed_libraries_only(tmp_path):
    (tmp_path / "own_pkg.py").write_text("import json\n", encoding="utf-8")
    nb = _nb(tmp_path / "nb.py", "import pandas\nfrom sklearn.linear_model import Ridge\nimport own_pkg\n"
                                 "# COMMAND ----------\nimport os\nfrom devops_mlops.runtime import api\nimport not_there\n")
    names = modules_imported_by([nb])
    assert "pandas" in names and "sklearn.linear_model" in names and "devops_mlops.runtime" in names
    assert not {"own_pkg", "os", "not_there"} & set(names)


def test_variables_this_process_libraries_export_neither_reach_the_notebooks_nor_split_the_pool(tmp_path, monkeypatch):
    import mlflow

    nb = _nb(tmp_path / "env.py", """
        import os
        print("uri", os.environ.get("MLFLOW_TRACKING_URI"), "setting", os.environ.get("MLOPS_TEST_SETTING"))
        """)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLOPS_TEST_SETTING", raising=False)
    with kernel_pool(preload=["json"]) as pool:
        a = run_notebook(nb)
        mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")  # exports MLFLOW_TRACKING_URI here
        assert os.environ.get("MLFLOW_TRACKING_URI")
        b = run_notebook(nb)
        monkeypatch.setenv("MLOPS_TEST_SETTING", "1")  # any other variable still reaches the notebooks
        c = run_notebook(nb)
        stats = dict(pool.stats)
    assert [r.status for r in (a, b, c)] == ["passed"] * 3, [(r.status, r.error) for r in (a, b, c)]
    assert a.kernel_pid == b.kernel_pid and "uri None setting None" in b.output
    assert c.kernel_pid != b.kernel_pid and "uri None setting 1" in c.output
    assert stats["started"] == 2 and stats["reused"] == 1
