import json
import shutil
from pathlib import Path

import pytest

from devops_mlops.errors import InputError
from devops_mlops.files import notebooks as nbfiles
from devops_mlops.ops.lint import lint_paths

CORPUS = Path(__file__).parent.parent / "corpus" / "notebooks"


def leaky_ipynb(path: Path) -> Path:
    cells = [
        {"cell_type": "code", "execution_count": 7, "metadata": {},
         "outputs": [{"output_type": "stream", "name": "stdout", "text": ["connected\n"]}],
         "source": ["import os\n", "import json\n", "print(os.sep)"]},
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
         "source": ["conn = \"AccountName=x;AccountKey=" + "Ab1+" * 11 + "==\""]},
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": ["%run ./nowhere"]},
    ]
    doc = {"cells": cells, "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return path


def test_good_corpus_is_clean():
    result = lint_paths([CORPUS / "good"])
    assert result.findings == [], [f.where() + " " + f.code for f in result.findings]
    assert len(result.files) == 6


def test_run_names_are_known_and_globals_are_builtins(tmp_path):
    shutil.copy(CORPUS / "good" / "00_setup.py", tmp_path)
    (tmp_path / "uses.py").write_text(
        "# Databricks notebook source\n# MAGIC %run ./00_setup\n\n# COMMAND ----------\n\n"
        "print(table_name('x'), CATALOG, spark, dbutils, display, sc, unknown_thing)\n"
    )
    result = lint_paths([tmp_path / "uses.py"])
    assert [(f.code, f.line, f.column, f.message) for f in result.findings] == [
        ("F821", 6, 62, "Undefined name `unknown_thing`")
    ]


def test_ipynb_findings_carry_cell_and_line_in_cell(tmp_path):
    result = lint_paths([leaky_ipynb(tmp_path / "leaky.ipynb")])
    got = {(f.cell, f.line, f.code) for f in result.findings}
    assert got == {(1, 1, "MLO101"), (1, 1, "MLO102"), (1, 2, "F401"), (2, 1, "SEC002"), (3, 1, "MLO001")}
    assert all("Ab1+" not in f.message for f in result.findings)


def test_fix_strips_outputs_and_nothing_else(tmp_path):
    path = leaky_ipynb(tmp_path / "leaky.ipynb")
    result = lint_paths([path], fix=True)
    assert result.fixed == 2
    assert {f.code for f in result.findings} == {"F401", "SEC002", "MLO001"}
    nb = nbfiles.read(path)
    assert nb.cells[0].outputs == [] and nb.cells[0].execution_count is None
    assert nb.cells[1].source.startswith("conn = ")


def test_malformed_file_stops_before_anything_is_written(tmp_path):
    fixable = leaky_ipynb(tmp_path / "a.ipynb")
    before = fixable.read_bytes()
    shutil.copy(CORPUS / "malformed" / "truncated.ipynb", tmp_path / "b.ipynb")
    with pytest.raises(InputError) as err:
        lint_paths([tmp_path], fix=True)
    assert err.value.path.endswith("b.ipynb")
    assert fixable.read_bytes() == before


def test_select_and_ignore(tmp_path):
    path = leaky_ipynb(tmp_path / "leaky.ipynb")
    assert {f.code for f in lint_paths([path], select=["SEC"]).findings} == {"SEC002"}
    assert {f.code for f in lint_paths([path], ignore=["MLO1", "F"]).findings} == {"SEC002", "MLO001"}


def test_style_rules_reach_ruff_and_map_magic_columns(tmp_path):
    path = tmp_path / "q.sql"
    path.write_text("-- Databricks notebook source\nSELECT 1\n\n-- COMMAND ----------\n\n-- MAGIC %python\n"
                    "-- MAGIC x=1;  y = 2\n")
    codes = {(f.code, f.line, f.column) for f in lint_paths([path], select=["E7"]).findings}
    assert ("E703", 7, 13) not in codes  # E703 is for a trailing semicolon only
    assert ("E702", 7, 13) in codes


def test_one_ruff_process_for_many_notebooks(tmp_path, monkeypatch):
    import subprocess

    for i in range(5):
        (tmp_path / f"n{i}.py").write_text("# Databricks notebook source\nimport os\n")
    leaky_ipynb(tmp_path / "leaky.ipynb")
    (tmp_path / "escapes.py").write_text("# Databricks notebook source\n!pip install x\nimport sys\n")
    calls = []
    real = subprocess.Popen

    class Counting(real):
        def __init__(self, cmd, *a, **k):
            calls.append(cmd)
            super().__init__(cmd, *a, **k)

    monkeypatch.setattr(subprocess, "Popen", Counting)
    result = lint_paths([tmp_path])
    assert sum(1 for f in result.findings if f.code == "F401") == 7
    assert len(calls) == 1
    # the source notebooks are read in place; the .ipynb and the one with an escape go as modules
    cmd = calls[0]
    options = {cmd[i + 1] for i, a in enumerate(cmd[:-1]) if a == "--config"}  # not inputs
    inputs = [a for a in cmd if (a.endswith(".py") or "mlops-lint-" in a) and a not in options]
    assert sorted(Path(a).name for a in inputs if a.endswith(".py")) == [f"n{i}.py" for i in range(5)]
    assert sum(1 for a in inputs if "mlops-lint-" in a) == 1


def test_a_syntax_error_does_not_hide_other_cells_findings(tmp_path):
    path = tmp_path / "s.py"
    path.write_text("# Databricks notebook source\nimport os\n\n# COMMAND ----------\n\nx = (\n\n"
                    "# COMMAND ----------\n\nprint(nope)\n")
    got = {(f.code, f.line) for f in lint_paths([path]).findings}
    assert got == {("F401", 2), ("E999", 6), ("F821", 10)}


def test_ipython_escapes_in_python_cells_are_run_not_syntax_errors(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(
        "# Databricks notebook source exported at Tue, 02 Apr 2024 08:15:00 UTC\n"
        "!pip install transformers==4.40\n%pip install -q peft\nimport os\n\n# COMMAND ----------\n\n"
        "!deepspeed --num_gpus 2 train.py \\\n    --epochs 3\nfiles = !ls /dbfs/tmp\nprint(files, missing)\n"
        "\n# COMMAND ----------\n\n# MAGIC  %md\n# MAGIC Results **below**\n"
    )
    got = {(f.code, f.line, f.column) for f in lint_paths([path]).findings}
    assert got == {("F401", 4, 8), ("F821", 11, 14)}  # no E999, no MLO003; positions kept


def test_pip_and_sh_cells_never_reach_ruff(tmp_path):
    # shell that would be a syntax error (and undefined names) if it were Python
    (tmp_path / "s.py").write_text(
        "# Databricks notebook source\n# MAGIC %pip install x==1 y\n\n# COMMAND ----------\n\n"
        "# MAGIC %sh\n# MAGIC if [ -d /dbfs/x ]; then ls; fi\n# MAGIC undefined_thing\n"
        "\n# COMMAND ----------\n\n%sh echo $HOME\n"
    )
    cells = [
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": src}
        for src in ("%pip install x==1\nundefined_thing", "%sh\nfor f in *; do echo $f; done", "%%bash\nls -la |",
                    "import os")
    ]
    doc = {"cells": cells, "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "i.ipynb").write_text(json.dumps(doc))
    got = {(Path(f.path).name, f.code, f.cell) for f in lint_paths([tmp_path]).findings}
    assert got == {("i.ipynb", "F401", 4)}
