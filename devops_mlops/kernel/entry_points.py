"""The project's own code, where the toolkit calls it outside a notebook.

``entry_points:`` in mlops.yaml names functions as ``module:function``; they are
imported from the project (the folders of ``python_path``, default ``src``, go
first on ``sys.path``; an installed project package works as well) with
importlib::

    fn = resolve(config, "ingest")          # ConfigError (exit 2, mlops.yaml:line) if it cannot be imported
    call(config, "ingest", session, [7])

Local notebook kernels get the same folders on their ``PYTHONPATH``
(:func:`kernel_env`), so a notebook's ``import my_project`` finds the
project's package without installing it.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError

#: what each entry point is for, in the messages
PURPOSE = {
    "ingest": "lands a new batch (extract, prepare, features)",
    "train": "trains the first model in process",
    "retrain": "runs one retrain try in process",
    "evaluation_data": "gives the labelled rows the gate evaluates on",
    "scenario": "tells `mlops lifecycle` which drifts its data will meet",
}


def source_paths(config) -> list[Path]:
    """The project's ``python_path`` folders that exist, absolute."""
    out = []
    for rel in config.python_path:
        path = (config.root / rel).resolve()
        if path.is_dir():
            out.append(path)
    return out


def activate(config) -> None:
    """Put the project's ``python_path`` folders first on this process's ``sys.path`` (once)."""
    for path in reversed(source_paths(config)):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def kernel_env(config) -> dict[str, str]:
    """The environment a local notebook kernel needs to import the project's package."""
    paths = [str(p) for p in source_paths(config)]
    return {"PYTHONPATH": os.pathsep.join(paths)} if paths else {}


def _error(config, name: str, message: str) -> ConfigError:
    return ConfigError(f"entry_points.{name}: {message}", path=config.path, line=config.line("entry_points", name),
                       hint=f"the entry point {PURPOSE.get(name, name)}; see docs/config.md")


def resolve(config, name: str, *, required: bool = True) -> Callable[..., Any] | None:
    """The function ``entry_points.<name>`` names; None when it is not set and not ``required``."""
    spec = getattr(config.entry_points, name, None)
    if not spec:
        if not required:
            return None
        raise _error(config, name, f"not set: the toolkit needs the project's function that {PURPOSE[name]}")
    module_name, _, attr = spec.partition(":")
    activate(config)
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        shown = ", ".join(str(p) for p in source_paths(config)) or "no python_path folder"
        raise _error(config, name, f"cannot import module {module_name!r} ({exc}; searched {shown} and the "
                                   "installed packages)") from None
    for part in attr.split("."):
        if not hasattr(target, part):
            raise _error(config, name, f"module {module_name!r} has no function {attr!r}")
        target = getattr(target, part)
    if not callable(target):
        raise _error(config, name, f"{spec} is not a function")
    return target


def check_all(config) -> list[str]:
    """Resolve every configured entry point (ConfigError on the first that fails); their names."""
    names = [name for name, _ in config.entry_points.items()]
    for name in names:
        resolve(config, name)
    return names


def call(config, name: str, *args: Any, **kwargs: Any) -> Any:
    return resolve(config, name)(*args, **kwargs)
