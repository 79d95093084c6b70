"""The runtime API's notebook-scoped install (serverless notebook tasks), in an isolated environment."""

import json
import subprocess
from pathlib import Path

from devops_mlops.ops.wheels import build_wheel
from devops_mlops.kernel import libraries
from devops_mlops.testing.databricks import make_venv
from devops_mlops.testing.shipping_project import shipping_project

SCRIPT = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("libraries", {module!r})
lib = importlib.util.module_from_spec(spec); spec.loader.exec_module(lib)
try:
    import ship_demo
    before = True
except ImportError:
    before = False
first = lib.install_task_libraries({value!r})
import ship_demo.data
second = lib.install_task_libraries({value!r})  # once per task: the second call does nothing
try:
    lib.install_task_libraries("/nowhere/missing-1.0-py3-none-any.whl")
    error = None
except lib.LibraryInstallError as exc:
    error = str(exc)
print(json.dumps({{"before": before, "first": first, "second": second, "from": ship_demo.__file__,
                  "error": error}}))
"""


def test_install_task_libraries_makes_the_wheel_importable_once(tmp_path):
    shipping_project(tmp_path / "p", host="http://127.0.0.1:1", tracking_uri="sqlite:///x.db")
    wheel = build_wheel(tmp_path / "p", tmp_path / "cache").path
    python = make_venv(tmp_path / "venv")  # no toolkit, no checkout: only the base runtime
    code = SCRIPT.format(module=libraries.__file__, value=str(wheel))
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["before"] is False and out["first"] == [str(wheel)] and out["second"] == []
    assert Path(out["from"]).is_relative_to(tmp_path / "venv")
    assert out["error"].startswith("installing /nowhere/missing-1.0-py3-none-any.whl failed:")


def test_without_the_parameter_nothing_happens():
    assert libraries.install_task_libraries("") == []
    assert libraries.install_task_libraries() == []  # no notebook, no widget
