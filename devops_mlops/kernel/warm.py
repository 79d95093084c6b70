"""Kernel side of the kernel pool (imported inside a pooled kernel, stdlib only).

``warm(ip, modules)`` imports the heavy libraries the notebooks will use, then records
the process's baseline: the modules loaded, ``os.environ``, ``sys.path``, ``sys.argv``,
the working directory and the warning filters. ``reset(ip)`` brings a kernel back to
that baseline after a notebook that passed, so the next notebook of the same run starts
as in a fresh kernel with its imports already paid (the isolation rule: docs/test.md).

What survives a reset (the libraries, their caches) is moved out of the cyclic garbage
collector's sight (``gc.freeze``): with mlflow, pandas and scikit-learn imported a full
collection walks millions of objects (about half a second each time), and a reset collects twice
(IPython's own reset collects too). Garbage of the next notebook is collected as before;
reference counting frees everything else as always.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import sysconfig
import warnings

_base: dict = {}


def _installed_roots() -> tuple[str, ...]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(path)
    return tuple(os.path.realpath(r) + os.sep for r in roots)


def warm(ip, modules: list[str]) -> list[str]:
    """Import ``modules`` (those that fail are skipped); take the baseline; the modules imported."""
    loaded = []
    for name in modules:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except Exception:  # noqa: BLE001 - a library that does not import is simply not preloaded
            pass
    _base.update(
        modules=set(sys.modules),
        environ=dict(os.environ),
        path=list(sys.path),
        argv=list(sys.argv),
        cwd=os.getcwd(),
        filters=list(warnings.filters),
        roots=_installed_roots(),
        main_dunders={k: v for k, v in vars(sys.modules["__main__"]).items() if k.startswith("__") and k.endswith("__")},
        installed={},
    )
    _freeze()
    return loaded


def _freeze() -> None:
    """Collect, then keep what is alive now out of later collections (the baseline's objects)."""
    gc.collect()
    gc.freeze()


def enter(values: dict) -> None:
    """Before a notebook: the variables the toolkit reads when it uses them (pool.LATE_ENV), as the
    notebook's run sets them (None: unset)."""
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _installed(module, roots: tuple[str, ...]) -> bool:
    path = getattr(module, "__file__", None)
    if not path:
        return True  # built-in or namespace: nothing of the notebook's own
    known = _base.get("installed")
    if known is None:
        return os.path.realpath(path).startswith(roots)
    if path not in known:  # a file's place does not change during the run: resolved once
        known[path] = os.path.realpath(path).startswith(roots)
    return known[path]


def reset(ip) -> None:
    """Back to the baseline: the notebook's names, its own modules (every module imported since the
    baseline from outside the installed libraries: the project's package, files next to the
    notebook), environment, path, argv, working directory, warning filters, open MLflow runs and
    matplotlib figures, and the runtime shim's per-notebook state."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None:
        try:
            while mlflow.active_run() is not None:
                mlflow.end_run()
        except Exception:  # noqa: BLE001 - best effort: a broken run store must not block the reset
            pass
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")
    ip.reset(new_session=False)  # the user namespace back to IPython's initial one
    # IPython's reset drops the dunders a fresh kernel's __main__ has (`__spec__` among them, which
    # libraries such as pyspark's Connect client read): put back those of the baseline
    main = vars(sys.modules["__main__"])
    for name, value in _base["main_dunders"].items():
        main.setdefault(name, value)
    roots = _base["roots"]
    for name in [n for n in sys.modules if n not in _base["modules"]]:
        module = sys.modules.get(name)
        if module is not None and not _installed(module, roots):
            del sys.modules[name]
    os.environ.clear()
    os.environ.update(_base["environ"])
    sys.path[:] = _base["path"]
    sys.argv[:] = _base["argv"]
    warnings.filters[:] = _base["filters"]
    os.chdir(_base["cwd"])
    shim = sys.modules.get("devops_mlops.kernel.shim")
    if shim is not None:
        shim.reset()
    _freeze()
