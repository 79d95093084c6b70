"""A throwaway copy of the toll-demand project (tests, benchmarks, demos).

``make_project(folder, data=..., monitoring=...)`` writes an mlops.yaml (the
repository's own, with the given sections replaced), copies the notebooks and
job definitions when the repository is at hand, and makes it a git repository
with one commit. ``trained(folder)`` then extracts the labelled history,
trains, registers and promotes version 1 in process.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2] / "examples" / "toll-demand"


def make_project(folder: str | Path, *, git: bool = True, **sections: Any) -> Path:
    import yaml

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    source = REPO / "mlops.yaml"
    doc = yaml.safe_load(source.read_text()) if source.is_file() else {}
    doc.setdefault("project", "toll-demand")
    doc.setdefault(
        "model", {"name": "toll-demand", "label": "vehicles", "keys": ["plaza", "date"], "primary_metric": "mape"}
    )
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key] = {**doc[key], **value}
        else:
            doc[key] = value
    (folder / "mlops.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    for name in ("notebooks", "resources"):
        if (REPO / name).is_dir() and not (folder / name).exists():
            shutil.copytree(REPO / name, folder / name, ignore=shutil.ignore_patterns("*.provenance.json"))
    if git:
        (folder / ".gitignore").write_text(".mlops/\n")
        env = {
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.invalid",
        }
        import os

        for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "initial"]):
            subprocess.run(["git", *args], cwd=folder, check=True, env={**os.environ, **env})
    return folder


def trained(folder: str | Path, *, batches: int | None = None):
    """The project's context after the history is extracted and v1 trained and promoted
    (and, with ``batches``, that many later batches extracted and scored)."""
    from ..context import Context
    from ..ops.infer import infer
    from ..ops.model import promote
    from . import stages
    from .session import open_session

    ctx = Context.create(config_path=Path(folder) / "mlops.yaml")
    s = open_session(ctx=ctx)
    stages.ingest(s, stages.parse_batches(s, "history"))
    version = stages.train(s)["version"]
    promote(ctx, version, "production", eval_frame=stages.eval_frame(s))
    first = s.settings.history_batches
    for b in range(first, first + (batches or 0)):
        stages.ingest(s, [b])
        infer(ctx, batches=[b])
    return ctx
