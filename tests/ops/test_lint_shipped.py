"""MLO201: a notebook importing what the target will not have."""

from devops_mlops.ops.lint import lint_paths

NB = """# Databricks notebook source
import json
import os.path
import sklearn.linear_model
import pyspark.sql.functions as F
from devops_mlops.runtime import api
from my_pkg.features import build
from helpers import util
import requests
import not_declared_anywhere
from . import nothing

# COMMAND ----------

# MAGIC %md
# MAGIC import also_not_code

# COMMAND ----------

import yaml  # noqa: MLO201
import leftover_lib
"""


def project(root, deps='["scikit-learn", "mlflow"]'):
    (root / "src" / "my_pkg").mkdir(parents=True)
    (root / "src" / "my_pkg" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(f'[project]\nname = "my-pkg"\nversion = "1.0"\ndependencies = {deps}\n')
    (root / "mlops.yaml").write_text("project: p\nmodel: {name: m}\n")
    nb = root / "notebooks"
    nb.mkdir()
    (nb / "train.py").write_text(NB)
    (nb / "helpers.py").write_text("def util():\n    return 1\n")  # a workspace file next to the notebook
    return nb


def shipped_findings(root):
    result = lint_paths([root / "notebooks"], select=["MLO201"], root=root)
    return [(f.line, f.message.split("'")[1]) for f in result.findings]


def test_imports_outside_the_package_and_its_requirements_are_reported(tmp_path):
    project(tmp_path)
    # requests comes in through mlflow's own requirements; json/os are stdlib; pyspark is the platform's
    assert shipped_findings(tmp_path) == [(10, "not_declared_anywhere"), (21, "leftover_lib")]
    result = lint_paths([tmp_path / "notebooks"], select=["MLO201"], root=tmp_path)
    assert result.findings[0].code == "MLO201" and result.findings[0].severity == "error"
    assert "import not shipped to the target" in result.findings[0].message


def test_a_declared_requirement_ships_its_modules_and_no_package_means_no_rule(tmp_path):
    project(tmp_path, deps='["scikit-learn", "mlflow", "not-declared-anywhere", "leftover-lib"]')
    assert shipped_findings(tmp_path) == []
    (tmp_path / "pyproject.toml").unlink()
    (tmp_path / "notebooks" / "train.py").write_text("# Databricks notebook source\nimport anything_at_all\n")
    assert shipped_findings(tmp_path) == []
