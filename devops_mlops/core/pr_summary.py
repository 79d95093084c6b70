"""The markdown summaries of ``mlops lint``, ``mlops test`` and ``mlops deploy --dry-run``, for the
pull request's summary thread and the run page (``##vso[task.uploadsummary]``). Plain logic."""

from __future__ import annotations

from typing import Any


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def lint_markdown(doc: dict, notebook_diffs: list[list[str]] | None = None) -> tuple[str, bool]:
    """(markdown, ok) from ``LintResult.to_json()`` and the cell diffs of the changed notebooks."""
    findings = doc["findings"]
    ok = not findings
    head = (f"### mlops lint: all checks passed ({doc['files']} file(s))" if ok else
            f"### mlops lint: {len(findings)} finding(s) in {doc['summary']['files_with_findings']} file(s)")
    lines = [head, ""]
    if findings:
        lines += ["| where | code | message |", "| --- | --- | --- |"]
        for f in findings[:200]:
            where = f"{f['path']}:" + (f"cell {f['cell']}:" if f.get("cell") and f["path"].endswith(".ipynb") else "") \
                + f"{f['line']}"
            lines.append(f"| `{_cell(where)}` | {f['code']} | {_cell(f['message'])} |")
        if len(findings) > 200:
            lines.append(f"| … | | {len(findings) - 200} more |")
        lines.append("")
    if notebook_diffs:
        lines += ["#### Changed notebooks (cell sources; outputs ignored)", ""]
        for d in notebook_diffs:
            lines += d + [""]
    return "\n".join(lines).rstrip() + "\n", ok


def test_markdown(doc: dict) -> tuple[str, bool]:
    """(markdown, ok) from ``TestReport.to_json()``."""
    bad = [n for n in doc["notebooks"] if n.get("status") != "passed"]
    counts = ", ".join(f"{doc[k]} {k}" for k in ("passed", "failed", "timeout", "error") if doc.get(k))
    lines = [f"### mlops test: {len(doc['notebooks'])} notebook(s): {counts or 'none found'} "
             f"in {doc['duration']:.1f}s", ""]
    if doc["notebooks"]:
        lines += ["| notebook | status | seconds | error |", "| --- | --- | --- | --- |"]
        for n in doc["notebooks"]:
            lines.append(f"| `{_cell(n.get('path'))}` | {n.get('status')} | {float(n.get('duration') or 0):.1f} | "
                         f"{_cell((n.get('error') or '')[:300])} |")
    return "\n".join(lines).rstrip() + "\n", not bad


def deploy_markdown(doc: dict) -> tuple[str, bool]:
    """(markdown, settled) from ``DeployResult.to_json()`` of a dry run: the plan, a diff per job;
    settled: the plan changes nothing."""
    counts = doc.get("counts", {})
    summary = ", ".join(f"{counts.get(k, 0)} {k}" for k in ("create", "update", "delete", "unchanged"))
    lines = [f"### mlops deploy plan on {doc['target']}: {summary}", ""]
    if doc.get("only"):
        lines += [f"Selective: only {', '.join(doc['only'])}.", ""]
    for a in doc["actions"]:
        if a["op"] == "unchanged":
            continue
        lines.append(f"- **{a['op']}** `{a['key']}`" + (f" (job {a['job_id']})" if a.get("job_id") else "")
                     + (f": {a['reason']}" if a.get("reason") and a["op"] in ("delete", "stale") else ""))
        if a.get("diff"):
            lines += ["  ```diff", *(f"  {line}" for line in a["diff"][:100]), "  ```"]
    settled = not any(counts.get(k) for k in ("create", "update", "delete"))
    return "\n".join(lines).rstrip() + "\n", settled
