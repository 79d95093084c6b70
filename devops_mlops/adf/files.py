"""Writing the export: the Data Factory Git-integration folder plus the ARM template.

``<out>/pipeline/<name>.json``, ``<out>/linkedService/<name>.json``,
``<out>/trigger/<name>.json`` (the folders and file shape the Git integration stores)
and ``<out>/arm/ARMTemplateForFactory.json`` + ``ARMTemplateParametersForFactory.json``.

Nothing half-written: every document is rendered and validated first, written to a
temporary file next to its destination, and only then moved into place. Files of an
earlier export of the same project that are no longer generated (their JSON carries
the annotation ``mlops_project:<project>``) are removed; other files are left alone.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .arm import template
from .export import TYPES, Export

ARM_FILES = ("arm/ARMTemplateForFactory.json", "arm/ARMTemplateParametersForFactory.json")


def render(doc: dict) -> str:
    return json.dumps(doc, indent=4, ensure_ascii=False) + "\n"


def documents(exp: Export, *, factory: str | None = None) -> dict[str, dict]:
    """Relative path -> JSON document, everything the export writes."""
    out: dict[str, dict] = {}
    for kind in TYPES:
        for name, doc in exp.resources[kind].items():
            out[f"{kind}/{name}.json"] = doc
    tpl, params = template(exp, factory=factory)
    out[ARM_FILES[0]] = tpl
    out[ARM_FILES[1]] = params
    return out


def _ours(path: Path, project: str) -> bool:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return f"mlops_project:{project}" in ((doc.get("properties") or {}).get("annotations") or [])


@dataclass
class WriteResult:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def plan(out: Path, docs: dict[str, dict], project: str) -> WriteResult:
    res = WriteResult()
    for rel, doc in docs.items():
        target = out / rel
        if target.is_file() and target.read_text() == render(doc):
            res.unchanged.append(rel)
        else:
            res.written.append(rel)
    for kind in TYPES:
        folder = out / kind
        if folder.is_dir():
            for f in sorted(folder.glob("*.json")):
                rel = f"{kind}/{f.name}"
                if rel not in docs and _ours(f, project):
                    res.deleted.append(rel)
    return res


def write(out: Path, docs: dict[str, dict], project: str) -> WriteResult:
    res = plan(out, docs, project)
    staged: list[tuple[str, Path]] = []
    try:
        for rel in res.written:
            dest = out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
            with os.fdopen(fd, "w") as fh:
                fh.write(render(docs[rel]))
            staged.append((rel, Path(tmp)))
    except BaseException:
        for _, tmp in staged:
            tmp.unlink(missing_ok=True)
        raise
    for rel, tmp in staged:
        os.replace(tmp, out / rel)
    for rel in res.deleted:
        (out / rel).unlink(missing_ok=True)
    return res
