"""A throwaway copy of a project (tests, benchmarks, demos).

``make_project(folder, source=..., data=..., monitoring=...)`` copies the project
at ``source`` (default: the `mlops init` template, i.e. the repository's example
project) - its mlops.yaml with the given sections replaced, its notebooks, job
definitions and own package - and makes it a git repository with one commit.
``trained(folder)`` then lands the history batches, trains, registers and
promotes version 1 in process, through the project's entry points.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

COPIED = ("notebooks", "resources", "src", "pyproject.toml")
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def make_project(folder: str | Path, *, source: str | Path | None = None, git: bool = True, **sections: Any) -> Path:
    import yaml

    if source is None:
        from ..ops.init import template_root

        source = template_root()
    source, folder = Path(source), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    doc = yaml.safe_load((source / "mlops.yaml").read_text())
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key] = {**doc[key], **value}
        else:
            doc[key] = value
    (folder / "mlops.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    ignore = shutil.ignore_patterns("*.provenance.json", "__pycache__", "*.egg-info")
    for name in COPIED:
        src, dst = source / name, folder / name
        if dst.exists() or not src.exists():
            continue
        if src.is_dir():
            shutil.copytree(src, dst, ignore=ignore)
        else:
            shutil.copy2(src, dst)
    if git:
        (folder / ".gitignore").write_text(".mlops/\n__pycache__/\n")
        for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "initial"]):
            subprocess.run(["git", *args], cwd=folder, check=True, env={**os.environ, **_GIT_ENV})
    return folder


def trained(folder: str | Path, *, batches: int | None = None, target: str | None = None):
    """The project's context after its history is landed and v1 trained and promoted (and, with
    ``batches``, that many later batches landed and scored). Uses the entry points ``ingest``,
    ``train``, ``evaluation_data`` and ``scenario``."""
    from ..context import Context
    from ..ops.infer import infer
    from ..runtime.api import Session
    from ..kernel.entry_points import call

    ctx = Context.create(config_path=Path(folder) / "mlops.yaml", target=target)
    s = Session(ctx)
    history = list(call(ctx.config, "scenario", s).get("history") or [])
    call(ctx.config, "ingest", s, history)
    version = call(ctx.config, "train", s, register=True)["version"]
    s.promote(version, "production")
    first = max(history) + 1
    for b in range(first, first + (batches or 0)):
        call(ctx.config, "ingest", s, [b])
        infer(ctx, batches=[b])
    return ctx


def ingest(ctx, batches: list[int]) -> dict[str, Any]:
    """Land ``batches`` through the project's ``entry_points.ingest`` (as `mlops lifecycle` does)."""
    from ..runtime.api import Session
    from ..kernel.entry_points import call

    return call(ctx.config, "ingest", Session(ctx), list(batches))
