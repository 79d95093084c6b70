"""Reproducible wheels of a project's package, and a package that does not build."""

import hashlib
import os
import time
import zipfile

import pytest

from devops_mlops.errors import InputError
from devops_mlops.ops.wheels import build_wheel, source_hash
from devops_mlops.testing.shipping_project import shipping_project

def tiny(root):
    """The shipping project: a pyproject.toml and src/ship_demo/ (and notebooks, which the wheel leaves out)."""
    shipping_project(root, host="http://127.0.0.1:1", tracking_uri="sqlite:///x.db")
    return root


def test_same_sources_same_bytes_whatever_the_times_and_stale_build_output(tmp_path):
    a = tiny(tmp_path / "a")
    b = tiny(tmp_path / "b")
    old = time.time() - 86400 * 30
    os.utime(b / "src" / "ship_demo" / "__init__.py", (old, old))
    # stale output of an earlier build in the source tree must not leak into the wheel
    (b / "build" / "lib" / "ship_demo").mkdir(parents=True)
    (b / "build" / "lib" / "ship_demo" / "removed.py").write_text("GONE = True\n")
    wa = build_wheel(a, tmp_path / "cache-a")
    wb = build_wheel(b, tmp_path / "cache-b")
    assert wa.path.name == "ship_demo-0.1.0-py3-none-any.whl"
    assert wa.path.read_bytes() == wb.path.read_bytes()
    assert wa.sha256 == hashlib.sha256(wa.path.read_bytes()).hexdigest() == wb.sha256
    names = zipfile.ZipFile(wa.path).namelist()
    assert "ship_demo/__init__.py" in names and not any("removed" in n for n in names)
    assert {i.date_time for i in zipfile.ZipFile(wa.path).infolist()} == {(1980, 1, 1, 0, 0, 0)}
    again = build_wheel(a, tmp_path / "cache-a")  # nothing changed: reused, not rebuilt
    assert again.cached and again.sha256 == wa.sha256
    (a / "src" / "ship_demo" / "__init__.py").write_text("VALUE = 2\n")
    changed = build_wheel(a, tmp_path / "cache-a")
    assert not changed.cached and changed.sha256 != wa.sha256


def test_source_hash_ignores_caches_and_vcs(tmp_path):
    root = tiny(tmp_path / "p")
    before = source_hash(root)
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: x\n")
    (root / "src" / "ship_demo" / "__pycache__").mkdir()
    (root / "src" / "ship_demo" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert source_hash(root) == before
    # a virtual environment under any name (it holds pyvenv.cfg) is not a source of the build
    venv = root / ".venv-3.12"
    (venv / "lib").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "lib" / "big.py").write_text("X = 1\n")
    assert source_hash(root) == before


def test_a_package_that_does_not_build_names_the_pyproject_and_the_last_error_line(tmp_path):
    root = tiny(tmp_path / "p")
    (root / "setup.py").write_text("import a_module_nobody_installed\n")
    with pytest.raises(InputError) as err:
        build_wheel(root, tmp_path / "cache")
    assert err.value.exit_code == 2
    assert err.value.path == str(root / "pyproject.toml")
    assert err.value.message == ("the package does not build: "
                                 "ModuleNotFoundError: No module named 'a_module_nobody_installed'")
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").rglob("*.whl"))
