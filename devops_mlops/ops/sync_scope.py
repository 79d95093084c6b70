"""`mlops sync PATH...`: which part of the notebooks tree a partial sync covers.

Each path (relative to the current folder, as typed) must exist and lie inside the configured
notebooks folder. A folder covers everything under it; a file covers the one object it becomes
on the target (a source notebook loses its extension, as :func:`core.sync_plan.classify` says).
The notebooks folder itself means the whole tree (no scope).
"""

from __future__ import annotations

from pathlib import Path

from ..core import sync_plan as sp
from ..errors import InputError


def sync_scope(config, paths: list[Path] | None) -> list[str] | None:
    """The scope (paths relative to the sync root) for ``paths``; None for the whole tree."""
    if not paths:
        return None
    root = config.notebooks_dir.resolve()
    scope: list[str] = []
    for p in paths:
        full = Path(p).resolve()
        if not full.exists():
            raise InputError("no such file or folder", path=p)
        try:
            rel_file = full.relative_to(root).as_posix()
        except ValueError:
            raise InputError(f"not inside the notebooks folder {config.notebooks!r}: `mlops sync` syncs that folder only",
                             path=p) from None
        if rel_file == ".":
            return None
        if full.is_dir():
            scope.append(rel_file)
        else:
            with full.open("rb") as f:
                head = f.read(64)
            scope.append(sp.classify(rel_file, head)[0])
    return sorted(set(scope))
