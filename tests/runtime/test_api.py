"""The runtime API the notebooks call: sessions, tables replaced per batch, batch selection, task values."""

from __future__ import annotations

import pandas as pd
import pytest

from devops_mlops.errors import InputError
from devops_mlops.runtime import api


@pytest.fixture
def s(tmp_path):
    (tmp_path / "mlops.yaml").write_text(
        "project: p\nmodel: {name: m, label: y, keys: [k], features_table: feats, labels_table: ys}\n"
        "data: {anything: [1, 2]}\n"
    )
    return api.session(config=str(tmp_path / "mlops.yaml"))


def frame(batch: int, n: int = 3, value: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame({"k": [f"{batch}-{i}" for i in range(n)], "batch_id": [batch] * n, "x": [value] * n})


def test_replace_per_batch_and_read_back(s):
    assert s.batches("feats") == [] and s.labelled_batches() == []
    s.replace("feats", pd.concat([frame(0), frame(1)]), [0, 1])
    s.replace("feats", frame(1, n=2, value=5.0), [1])  # batch 1 again: replaced, not appended
    assert s.batches("feats") == [0, 1]
    again = s.read("feats", [1])
    assert len(again) == 2 and set(again["x"]) == {5.0} and len(s.read("feats")) == 5
    s.replace("ys", pd.DataFrame({"k": ["0-0"], "batch_id": [0], "y": [2.0]}), [0])
    assert s.labelled_batches() == [0]
    assert (s.features_table, s.labels_table, s.label, s.keys) == ("feats", "ys", "y", ["k"])
    assert s.data == {"anything": [1, 2]}


def test_transform_reads_changes_and_replaces(s):
    s.replace("feats", frame(3), [3])
    rows, out = s.transform("feats", "doubled", lambda f: f.assign(x=f["x"] * 2), [3], missing="none")
    assert len(rows) == len(out) == 3 and set(s.read("doubled", [3])["x"]) == {2.0}
    with pytest.raises(InputError, match="nothing for 9"):
        s.transform("feats", "doubled", lambda f: f, [9], missing="nothing for 9")


@pytest.mark.parametrize("text,want", [
    ("", [0, 1]), ("history", [0, 1]), ("next", [8]), ("latest", [7]), ("3", [3]), ("2-4", [2, 3, 4]),
    ("5,1,5", [1, 5]),
])
def test_batch_selection(text, want):
    assert api.parse_batches(text, history=range(2), existing=[7, 3]) == want


def test_batch_selection_without_batches_and_bad_text():
    assert api.parse_batches("next", history=[0], existing=[]) == [0]
    assert api.parse_batches("latest", history=[0], existing=[]) == []
    with pytest.raises(InputError, match="expected N"):
        api.parse_batches("soon", history=[], existing=[])


NOTEBOOK = """# Databricks notebook source
dbutils.widgets.text("batches", "")

# COMMAND ----------

from devops_mlops.runtime import api

dbutils.notebook.exit(api.widget_or_task_value(dbutils, "batches", "extract"))
"""


def test_widget_first_then_the_task_value_in_a_job_kernel(tmp_path):
    from devops_mlops.kernel.runner import run_notebook

    nb = tmp_path / "prepare.py"
    nb.write_text(NOTEBOOK)
    values = tmp_path / "values.json"
    values.write_text('{"extract": {"batches": "6,7"}}')
    from_task = run_notebook(nb, task_key="prepare", task_values_file=values, timeout=120)
    assert (from_task.status, from_task.exit_value) == ("passed", "6,7"), from_task.error
    from_widget = run_notebook(nb, params={"batches": "3"}, task_key="prepare", task_values_file=values, timeout=120)
    assert from_widget.exit_value == "3"
