"""What a commit of notebooks is called and says: its result, the branch names, the commit
message, the provenance record next to the notebook, the pull request's title and description.
Plain functions of the config, the provenance and the pipeline's variables (ops/commit.py uses them).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..ports.git import PullRequest


@dataclass
class CommitResult:
    paths: list[str]  # repository-relative paths considered (provenance record included)
    changed: list[str]  # those that differed from HEAD
    commit: str | None = None
    no_changes: bool = False
    target_branch: str = "main"
    branch: str | None = None  # where it was (or would be) pushed
    pushed: bool = False
    rebased: bool = False
    remote: str | None = None
    pull_request: PullRequest | None = None
    provenance: str | None = None
    message: str = ""
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)
    committed_on: str | None = None  # the local branch of a commit that was not pushed
    push_decision: str = ""  # what decided whether to push (core.push_policy)

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["pull_request"] = asdict(self.pull_request) if self.pull_request else None
        return doc

    def summary(self) -> str:
        """One line: where the commit went ("committed on mlops/retrain-m-v3, not pushed (...)")."""
        if self.no_changes:
            return "no changes to commit"
        verb = "would commit" if self.dry_run else f"committed {self.commit[:12]}" if self.commit else "committed"
        if self.pushed:
            text = f"{verb}, pushed to {self.remote}/{self.branch}"
            if self.pull_request:
                text += f", pull request {self.pull_request.pull_request_id}"
            return text
        if self.dry_run and self.branch:
            return f"{verb}, push to {self.remote}/{self.branch}"
        where = f" on {self.committed_on}" if self.committed_on else ""
        return f"{verb}{where}, not pushed" + (f" ({self.push_decision})" if self.push_decision else "")


def model_of(ctx, provenance: dict | None) -> tuple[str, Any]:
    p = provenance or {}
    model = p.get("model")
    name = (model.get("name") if isinstance(model, dict) else model) or ctx.config.model.name
    version = (model.get("version") if isinstance(model, dict) else None) or p.get("version") or p.get("model_version")
    return str(name), version


def clean_ref_part(s: str) -> str:
    """``s`` as one part of a branch name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-.") or "model"


def automation_branch(model: str, version: Any, commit: str) -> str:
    clean = clean_ref_part
    suffix = f"v{clean(str(version))}" if version not in (None, "") else commit[:8]
    return f"automation/retrain-{clean(model)}-{suffix}"


def work_items_of(provenance: dict | None) -> list[int]:
    p = provenance or {}
    raw = p.get("work_items") or p.get("work_item") or p.get("work_item_id")
    items = raw if isinstance(raw, (list, tuple)) else [raw] if raw not in (None, "") else []
    return [int(i) for i in items]


def pipeline_run() -> dict[str, Any] | None:
    run = {
        "build_id": os.environ.get("BUILD_BUILDID"),
        "build_number": os.environ.get("BUILD_BUILDNUMBER"),
        "definition": os.environ.get("BUILD_DEFINITIONNAME"),
    }
    org, project = os.environ.get("SYSTEM_COLLECTIONURI"), os.environ.get("SYSTEM_TEAMPROJECT")
    if run["build_id"] and org and project:
        run["url"] = f"{org.rstrip('/')}/{project}/_build/results?buildId={run['build_id']}"
    run = {k: v for k, v in run.items() if v}
    return run or None


def provenance_record(ctx, provenance: dict, notebooks: list[str], trained_from: str | None) -> bytes:
    name, version = model_of(ctx, provenance)
    known = {"model", "version", "model_version", "metrics", "data_window", "pipeline_run", "trained_from", "path"}
    record: dict[str, Any] = {
        "model": {"name": name, "version": version},
        "metrics": provenance.get("metrics") or {},
        "data_window": provenance.get("data_window"),
        "pipeline_run": provenance.get("pipeline_run") or pipeline_run(),
        "trained_from": provenance.get("trained_from") or trained_from,
        "notebooks": notebooks,
    }
    record.update({k: v for k, v in provenance.items() if k not in known})
    return (json.dumps(record, indent=2, sort_keys=True, default=str) + "\n").encode()


def metrics_table(metrics: dict[str, Any]) -> list[str]:
    if not metrics:
        return []
    nested = any(isinstance(v, dict) for v in metrics.values())
    cols = list(dict.fromkeys(k for v in metrics.values() if isinstance(v, dict) for k in v)) if nested else ["value"]

    def fmt(v: Any) -> str:
        return f"{v:.6g}" if isinstance(v, float) else "" if v is None else str(v)

    rows = ["| metric | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for name, v in metrics.items():
        cells = [fmt(v.get(c)) for c in cols] if isinstance(v, dict) else [fmt(v)]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows


def pull_request_text(ctx, result: CommitResult, provenance: dict | None) -> tuple[str, str]:
    name, version = model_of(ctx, provenance)
    title = f"Retrain {name} v{version}" if version not in (None, "") else result.message.splitlines()[0]
    p = provenance or {}
    lines = [f"Automated commit by mlops: `{result.commit[:12] if result.commit else '?'}` on `{result.branch}`.", ""]
    table = metrics_table(p.get("metrics") or {})
    if table:
        lines += ["**Metrics**", "", *table, ""]
    if p.get("data_window"):
        lines += [f"**Data window:** `{json.dumps(p['data_window'], default=str)}`", ""]
    run = p.get("pipeline_run") or pipeline_run()
    if run:
        lines += [f"**Pipeline run:** {run.get('url') or run.get('build_id') or run}", ""]
    lines += ["**Files**", ""] + [f"- `{path}`" for path in result.changed]
    if result.provenance:
        lines += ["", f"Provenance: `{result.provenance}`"]
    return title, "\n".join(lines) + "\n"


def default_message(ctx, rels: list[str], provenance: dict | None) -> str:
    names = ", ".join(Path(r).name for r in rels)
    name, version = model_of(ctx, provenance)
    if provenance is not None and version not in (None, ""):
        return f"Retrain {name} v{version}: update {names}"
    return f"mlops: update {names}"


def with_marker(message: str, marker: str) -> str:
    if not marker or marker in message:
        return message
    subject, nl, body = message.partition("\n")
    return f"{subject.rstrip()} {marker}{nl}{body}"
