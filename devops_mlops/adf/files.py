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
from .resources import TYPES, Export

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


@dataclass
class ExportResult:
    out: str
    target: str
    dry_run: bool
    files: WriteResult
    resources: list[str]
    warnings: list[str]

    def doc(self) -> dict:
        return {"out": self.out, "target": self.target, "dry_run": self.dry_run, "resources": self.resources,
                "written": self.files.written, "unchanged": self.files.unchanged, "deleted": self.files.deleted,
                "warnings": self.warnings}

    def lines(self):
        verb = "would write" if self.dry_run else "wrote"
        for rel in self.files.written:
            yield f"{verb} {self.out}/{rel}"
        for rel in self.files.deleted:
            yield f"{'would delete' if self.dry_run else 'deleted'} {self.out}/{rel}"
        yield (f"{len(self.resources)} Data Factory resources for target {self.target}: "
               f"{len(self.files.written)} files {'to write' if self.dry_run else 'written'}, {len(self.files.unchanged)} unchanged")
        for w in self.warnings:
            yield f"warning: {w}"


def export(ctx, out: str | Path | None = None, *, monitoring: bool = True) -> ExportResult:
    """``mlops adf export``: generate, validate, then write (or, dry run, only plan)."""
    from ..errors import InputError
    from ..files.jobs import committed_files
    from .export import build_export
    from .validate import validate

    config, target = ctx.config, ctx.target
    exp = build_export(config, target, monitoring=monitoring, tracked=committed_files(config, target, ctx.git))
    problems = validate(exp.resources, external_linked_services=exp.external_linked_services)
    if problems:
        raise InputError("the generated Data Factory JSON breaks a rule: " + "; ".join(map(str, problems[:5])))
    folder = Path(out) if out else config.root / "adf" / target.name
    docs = documents(exp, factory=target.adf.factory)
    files = plan(folder, docs, config.project) if ctx.dry_run else write(folder, docs, config.project)
    return ExportResult(str(folder), target.name, ctx.dry_run, files, [f"{k}/{n}" for k, n in exp.names()],
                        list(exp.warnings))
