"""Databricks' notebook globals inside a local Jupyter kernel (imported by the kernel, stdlib only).

The runner executes ``_mlops_shim.install(get_ipython(), CONFIG_JSON_PATH)`` first;
``install`` defines ``dbutils``, ``spark``, ``display``, ``displayHTML`` and
``getArgument`` in the user namespace and a handler that turns exceptions into a
user-code traceback with original file lines. It talks back to the runner through
files in the run's ``state_dir``: ``exit.json`` (dbutils.notebook.exit),
``error.json`` (the last error, mapped), ``task_values.json`` (values this run set),
``tests.json`` (the ``test_*`` functions' results).

Environment (documented in docs/test.md):
- ``MLOPS_SECRET_<SCOPE>__<KEY>``: ``dbutils.secrets.get(scope, key)``; scope and key
  upper-cased, every character other than A-Z 0-9 replaced by ``_``. Values are masked
  as ``[REDACTED]`` in everything the notebook prints.
- ``MLOPS_DBFS_ROOT``: the local folder ``dbfs:/`` and ``/dbfs/`` paths map to.

This package holds the hooks the runner calls (``install``, ``inject_parameters``,
``push_params``/``pop_params``, ``run_sql``, ``run_tests``, and ``reset`` between the notebooks
of a pooled kernel); ``dbutils`` is in :mod:`.dbutils` (with :mod:`.widgets` and :mod:`.fs`),
``spark`` and ``display`` in :mod:`.spark_display`, the error mapping in :mod:`.tracebacks`, the
run's state in :mod:`.state`. Its modules import only the standard library and each other: an
isolated kernel loads the package from its folder, without the toolkit installed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from . import state
from .dbutils import DBUtils
from .errors import NotebookExit
from .spark_display import _LazySpark, display, displayHTML, run_sql
from .state import reset
from .tracebacks import custom_exc, describe, unit_for
from .widgets import getArgument

__all__ = ["inject_parameters", "install", "pop_params", "push_params", "reset", "run_sql", "run_tests"]


def inject_parameters():
    """Papermill-style: after the `parameters` cell, assign --param / job values as variables."""
    values = dict(state.cfg.get("job_params") or {})
    values.update(state.cfg.get("params") or {})
    ns = state.ip.user_ns
    for name, raw in values.items():
        if not str(name).isidentifier():
            continue
        old = ns.get(name, state.MISSING)
        value = raw
        try:
            if isinstance(old, bool):
                value = str(raw).strip().lower() in ("1", "true", "yes", "on")
            elif isinstance(old, int):
                value = int(raw)
            elif isinstance(old, float):
                value = float(raw)
            elif isinstance(old, (list, dict)):
                value = json.loads(raw)
        except (TypeError, ValueError):
            value = raw
        ns[name] = value


def push_params(args: dict) -> None:
    """Entering a ``%run`` target run with arguments: its widgets see them first."""
    state.param_stack.append(dict(args))


def pop_params() -> None:
    """Leaving that ``%run`` target."""
    if state.param_stack:
        state.param_stack.pop()


def run_tests() -> None:
    """Call every test_* function a notebook cell defined; write tests.json."""
    import inspect

    results = []
    for name, obj in list(state.ip.user_ns.items()):
        if not name.startswith("test_") or not inspect.isfunction(obj):
            continue
        if unit_for(obj.__code__.co_filename) is None:
            continue  # imported, not defined by the notebook
        unit = unit_for(obj.__code__.co_filename)
        start = time.perf_counter()
        entry = {"name": name, "path": unit["path"], "cell": unit["cell"], "status": "passed", "error": None,
                 "traceback": None, "line": None}
        try:
            if inspect.signature(obj).parameters and any(
                p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                for p in inspect.signature(obj).parameters.values()
            ):
                raise TypeError(f"{name} takes arguments; test functions are called without any")
            obj()
        except NotebookExit:
            pass
        except Exception:
            etype, value, tb = sys.exc_info()
            info = describe(etype, value, tb)
            entry.update(status="failed", error=f"{info['ename']}: {info['evalue']}", traceback=info["traceback"],
                         line=info["line"], path=info["path"] or unit["path"])
        entry["duration"] = time.perf_counter() - start
        results.append(entry)
    state.write_json(state.state_file("tests.json"), results)


def install(ip, config_path: str) -> None:
    """Start a notebook: read the run's config, define the Databricks globals in the user namespace,
    map errors back to the notebook, mask secrets in what it prints, move to its working folder."""
    state.ip = ip
    state.cfg = json.loads(Path(config_path).read_text(encoding="utf-8"))
    compiler = getattr(ip, "compile", None)
    for unit in state.cfg.get("units", []):
        if unit.get("kind") != "code":
            continue
        state.units_by_source.setdefault(unit["source"].strip(), unit)
        try:
            fname = compiler.get_code_name(unit["source"], unit["source"], 0)
            state.units_by_file.setdefault(fname, unit)
        except Exception:  # pragma: no cover - IPython without get_code_name
            pass
    dbutils = DBUtils()
    ip.user_ns.update(
        dbutils=dbutils,
        spark=_LazySpark(),
        display=display,
        displayHTML=displayHTML,
        getArgument=getArgument,
    )
    ip.set_custom_exc((Exception,), custom_exc)
    state.wrap_stream(sys.stdout)
    state.wrap_stream(sys.stderr)
    if state.cfg.get("cwd"):
        os.chdir(state.cfg["cwd"])
