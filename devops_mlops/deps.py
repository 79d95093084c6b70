"""Whether the installed outside-system SDKs are within the range devops-mlops is tested on.

The tested range of a library starts at the lower bound this package declares for it (its
``Requires-Dist``, from pyproject.toml; the oldest lane of ``./scripts/test`` runs on exactly
those releases) and ends at the newest release (the newest lane). An older release, which an
agent image or a cluster runtime with preinstalled libraries can hold, earns one warning line
per process naming the package, its version and the range; the command goes on.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

#: the libraries that talk to outside systems, whose age matters most
WATCHED = ("databricks-sdk", "mlflow", "azure-devops", "msrest")

_warned: set[str] = set()
_REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(?:\[[^\]]*\])?\s*>=\s*([^,;\s]+)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def minimums() -> dict[str, str]:
    """Package (normalised name) -> the lowest version this package declares it works with."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        reqs = requires("devops-mlops") or []
    except PackageNotFoundError:  # pragma: no cover - run from a plain checkout
        return {}
    out: dict[str, str] = {}
    for req in reqs:
        if "extra ==" in req:
            continue
        m = _REQ.match(req)
        if m:
            out[_norm(m.group(1))] = m.group(2)
    return out


def untested(name: str) -> str | None:
    """A sentence when the installed ``name`` is older than the tested range, else None."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.version import InvalidVersion, Version

    low = minimums().get(_norm(name))
    if low is None:
        return None
    try:
        have = version(name)
        if Version(have) >= Version(low):
            return None
    except (PackageNotFoundError, InvalidVersion):
        return None
    return (f"{name} {have} is older than the range devops-mlops is tested on ({name} >= {low}, up to the "
            f"newest release); upgrade it with `pip install -U {name}` if this command misbehaves")


def warn_untested(console: Any, *names: str) -> None:
    """One warning line per package and process for each of ``names`` outside the tested range."""
    for name in names or WATCHED:
        if name in _warned:
            continue
        _warned.add(name)
        text = untested(name)
        if text and console is not None:
            console.warn(text)
