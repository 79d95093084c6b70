"""The state of the notebook a kernel runs, shared by the shim's modules, and the files through
which the shim talks back to the runner (in the run's ``state_dir``).

Read it as ``state.cfg``, ``state.ip`` (never ``from .state import cfg``): :func:`install` of the
package sets them for each notebook, and :func:`reset` clears them between notebooks of a pooled
kernel.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

#: no value (a widget without one, a task value not set)
MISSING = object()
#: the run's config.json, written by the runner: notebook, params, job_params, task_key, units, ...
cfg: dict = {}
#: the kernel's IPython shell (an InteractiveShell), set by install
ip = None
#: the plan's code units, by the file name IPython compiles each under, and by their source
units_by_file: dict[str, dict] = {}
units_by_source: dict[str, dict] = {}
#: secret values read through dbutils.secrets: masked in everything the notebook prints
secrets_seen: set[str] = set()
#: the parameters of the %run targets being run (innermost last)
param_stack: list[dict] = []
#: the widgets the notebook defined: name -> kind, default, choices, label
widgets: dict[str, dict] = {}


def reset() -> None:
    """Forget the last notebook (a pooled kernel runs the next one); secrets seen stay masked."""
    global cfg
    units_by_file.clear()
    units_by_source.clear()
    widgets.clear()
    del param_stack[:]
    cfg = {}


def state_file(name: str) -> Path:
    """A file of the run's state folder."""
    return Path(cfg["state_dir"]) / name


def write_json(path: Path, data: object) -> None:
    """Write ``data`` as JSON atomically (the runner never reads half a file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
    os.replace(tmp, path)


def mask(text: str) -> str:
    """``text`` with every secret seen replaced by ``[REDACTED]``."""
    for secret in sorted(secrets_seen, key=len, reverse=True):
        text = text.replace(secret, "[REDACTED]")
    return text


def wrap_stream(stream: object) -> None:
    """Mask secrets in what the notebook prints (patched on the stream's class: IPython re-wraps instances)."""
    cls = type(stream)
    if stream is None or getattr(cls, "_mlops_masked", False):
        return
    original = cls.write

    def write(self, text):
        if secrets_seen and isinstance(text, str):
            text = mask(text)
        return original(self, text)

    try:
        cls.write = write
        cls._mlops_masked = True
    except (AttributeError, TypeError):  # pragma: no cover - built-in stream types
        pass
