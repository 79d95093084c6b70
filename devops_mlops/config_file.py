"""Where the project's mlops.yaml is, found without reading it (nothing of YAML imported).

API::

    find_config()            # Path of mlops.yaml in the current folder or a parent; UsageError if none
    find_config(Path("x"))   # the same, looking up from x
"""

from __future__ import annotations

from pathlib import Path

from .errors import UsageError

CONFIG_NAME = "mlops.yaml"


def find_config(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    raise UsageError(f"no {CONFIG_NAME} in {here} or its parents (give --config FILE, or run `mlops init`)")
