"""A saved plan as Markdown, for the pipeline run page (``##vso[task.uploadsummary]``) and reviewers.
Plain logic: the plan document in, text out."""

from __future__ import annotations

from typing import Any

_SYMBOL = {"create": "+", "update": "~", "delete": "-", "unchanged": "=", "stale": "?", "conflict": "!",
           "unmanaged": "?"}


def _head(doc: dict[str, Any]) -> list[str]:
    t = doc["target"]
    where = t.get("workspace_dir") or t.get("repo_path")
    sel = {k: v for k, v in (doc.get("selection") or {}).items() if v}
    lines = [f"## mlops {doc['command']} plan for target `{t['name']}`", "",
             f"- host: `{t.get('host')}`, folder: `{where}`, project: `{t.get('project')}`",
             f"- remote state fingerprint: `{doc['remote_state']['digest'][:16]}` "
             f"({len(doc['remote_state']['items'])} object(s)); mlops {doc['toolkit_version']}"]
    if sel:
        lines.append("- selection: " + ", ".join(f"{k} = `{v}`" for k, v in sel.items()))
    return lines + [""]


def _deploy(doc: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for art in doc.get("artifacts") or []:
        lines.append(f"- artifact `{art.get('file')}` sha256 `{art.get('sha256')}` -> `{art.get('path')}`")
    counts: dict[str, int] = {}
    body: list[str] = []
    for a in doc["jobs"]["actions"]:
        counts[a["op"]] = counts.get(a["op"], 0) + 1
        if a["op"] == "unchanged":
            continue
        job = f" (job {a['job_id']})" if a.get("job_id") else ""
        body.append(f"{_SYMBOL[a['op']]} {a['op']} {a['key']}{job}  {a.get('reason', '')}".rstrip())
        body += [f"    {line}" for line in a.get("diff") or []]
    lines.append("jobs: " + ", ".join(f"{n} {op}" for op, n in sorted(counts.items())) if counts else "jobs: none")
    if body:
        lines += ["", "```diff", *body, "```"]
    return lines


def _sync(doc: dict[str, Any]) -> list[str]:
    s = doc["sync"]
    if s.get("mode") == "git_folder":
        return [f"Git folder `{s['root']}`: {s.get('action')}, then pull (now at `{s.get('head_before') or '-'}`, "
                f"expected `{s.get('expected_commit') or 'the branch head'}`)"]
    body = [f"{_SYMBOL.get(a['op'], ' ')} {a['op']} {s['root'].rstrip('/')}/{a['rel']}  ({a['reason']})"
            for a in s["actions"] if a["op"] != "unchanged"]
    counts: dict[str, int] = {}
    for a in s["actions"]:
        counts[a["op"]] = counts.get(a["op"], 0) + 1
    lines = ["objects: " + (", ".join(f"{n} {op}" for op, n in sorted(counts.items())) or "no changes")]
    if s.get("mkdirs"):
        lines.append("folders to create: " + ", ".join(f"`{f or '/'}`" for f in s["mkdirs"]))
    if body:
        lines += ["", "```diff", *body, "```"]
    return lines


def markdown(doc: dict[str, Any]) -> str:
    rest = _deploy(doc) if doc["command"] == "deploy" else _sync(doc)
    return "\n".join(_head(doc) + rest) + "\n"
