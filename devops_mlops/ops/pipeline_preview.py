"""`mlops pipelines validate --remote`: each pipeline file compiled by the service that runs it,
through the pipeline preview port (:mod:`devops_mlops.ports.pipeline_preview`).

A pipeline file is previewed against the pipeline that uses it (or ``--pipeline-id``); templates
are expanded by the service, so they are not sent on their own. A rejection is a PL110 finding on
the line the service names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..core import pipeline_rules as rules
from ..core.pipeline_rules import Doc, Finding
from ..errors import InputError
from ..ports.pipeline_preview import PipelinePreview
from ..yamlload import load_with_lines
from .pipelines import repo_root, shown

_WHERE = re.compile(r"\(Line: (\d+), Col: (\d+)\)")


def preview_remote(files: list[Path], preview: PipelinePreview, *,
                   pipeline_id: int | None = None) -> tuple[dict[str, Any], list[Finding]]:
    """Ask the service to compile each pipeline file: (the ``remote`` part of the result, findings)."""
    missing = preview.missing()
    if missing:
        return {"status": "skipped", "reason": "no " + ", no ".join(missing)}, []
    by_path = preview.pipelines() if pipeline_id is None else {}
    results: list[dict[str, Any]] = []
    findings: list[Finding] = []
    root = repo_root(files[0].parent) if files else Path.cwd()
    for f in files:
        try:
            data, _lines = load_with_lines(f)
        except InputError:
            continue
        doc = Doc(shown(f), data, {})
        if not isinstance(data, dict) or rules.is_template(doc):
            continue
        try:
            rel = f.resolve().relative_to(root).as_posix()
        except ValueError:
            rel = f.as_posix()
        pid = pipeline_id if pipeline_id is not None else by_path.get(rel)
        if pid is None:
            results.append({"file": doc.path, "status": "skipped", "reason": f"no pipeline in {preview.project} uses {rel}"})
            continue
        answer = preview.preview(pid, f.read_text(encoding="utf-8"))
        if answer.ok:
            results.append({"file": doc.path, "pipeline": pid, "status": "ok",
                            "final_yaml_lines": len(answer.final_yaml.splitlines())})
        else:
            m = _WHERE.search(answer.message)
            findings.append(Finding(doc.path, int(m.group(1)) if m else None, "PL110",
                                    f"Azure DevOps preview: {answer.message}", int(m.group(2)) if m else None))
            results.append({"file": doc.path, "pipeline": pid, "status": "failed", "message": answer.message})
    overall = "failed" if findings else ("ok" if any(r["status"] == "ok" for r in results) else "skipped")
    return {"status": overall, "organization": preview.organization_url, "project": preview.project,
            "pipelines": results}, findings
