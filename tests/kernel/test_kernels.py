"""A kernel's environment: the project's path first, the toolkit's next; an isolated interpreter
inherits neither the toolkit nor this process's MLflow state."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import devops_mlops
from devops_mlops.kernel.kernels import kernel_env

pytestmark = pytest.mark.fast

TOOLKIT = str(Path(devops_mlops.__file__).resolve().parents[1])
BASE = {"PATH": "/bin", "PYTHONPATH": "/inherited", "MLFLOW_RUN_ID": "17", "VIRTUAL_ENV": "/venv"}


def test_a_local_kernel_puts_the_projects_path_before_the_toolkit_and_the_inherited_one():
    env = kernel_env({"PYTHONPATH": "/project/src", "X": 1}, BASE)
    assert env["PYTHONPATH"].split(os.pathsep) == ["/project/src", TOOLKIT, "/inherited"]
    assert env["X"] == "1" and env["MLFLOW_RUN_ID"] == "17" and env["PYTHONUNBUFFERED"] == "1"
    assert env["MPLBACKEND"] == "agg"


def test_an_isolated_kernel_inherits_neither_the_toolkit_nor_mlflow_state():
    env = kernel_env({"PYTHONPATH": "/project/src"}, BASE, isolated=True)
    assert env["PYTHONPATH"] == "/project/src" and env["PYTHONNOUSERSITE"] == "1"
    assert "MLFLOW_RUN_ID" not in env and "VIRTUAL_ENV" not in env and env["PATH"] == "/bin"
    assert "PYTHONPATH" not in kernel_env(None, BASE, isolated=True)
