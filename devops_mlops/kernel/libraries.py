"""Notebook-scoped installs of what `mlops deploy` shipped, for serverless notebook tasks.

Job ``environments`` do not apply to notebook tasks on serverless compute, so deploy gives each
such task the parameter ``mlops_libraries`` (wheel paths on the target's artifact location and
pinned requirements, space separated). :func:`install_task_libraries` installs them into the
notebook's Python environment, the equivalent of ``%pip install`` at the top of the notebook,
once per task (a second call in the same Python process does nothing), and makes them
importable without a restart. Call it before the first import of the project's package;
:func:`devops_mlops.runtime.api.session` does. On clusters the wheels come as task
libraries and the parameter is absent: nothing happens. Standard library only.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

PARAM = "mlops_libraries"
_DONE = "MLOPS_LIBRARIES_INSTALLED"


class LibraryInstallError(RuntimeError):
    """pip could not install what the task was deployed with."""


def _from_widgets(dbutils=None) -> str:
    if dbutils is None:
        try:
            from IPython import get_ipython  # type: ignore

            ip = get_ipython()
            dbutils = ip.user_ns.get("dbutils") if ip is not None else None
        except ImportError:
            dbutils = None
    if dbutils is None:
        return ""
    try:
        return dbutils.widgets.get(PARAM) or ""
    except Exception:  # the parameter is not defined: a cluster task, or a local run
        return ""


def install_task_libraries(value: str | None = None, *, dbutils=None) -> list[str]:
    """Install the task's ``mlops_libraries`` (or ``value``); returns what was installed."""
    if value is None:
        value = _from_widgets(dbutils)
    reqs = value.split()
    if not reqs or os.environ.get(_DONE) == value:
        return []
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *reqs]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        raise LibraryInstallError(f"installing {' '.join(reqs)} failed: {lines[-1] if lines else proc.returncode}")
    importlib.invalidate_caches()
    os.environ[_DONE] = value
    return reqs
