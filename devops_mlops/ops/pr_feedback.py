"""Feedback of ``mlops lint``, ``mlops test`` and ``mlops deploy --dry-run`` where people look.

Inside Azure Pipelines (``TF_BUILD=True``) the command's markdown summary is written to a file and
attached to the run page with ``##vso[task.uploadsummary]``. In a pull-request build
(``SYSTEM_PULLREQUEST_PULLREQUESTID`` set) it also goes to the pull request through the
``azure-devops`` SDK: one summary thread per command, updated in place on every run; for lint, a
thread anchored on each finding that sits on a line the pull request changed (closed by the next
run once the finding is gone) and a cell-level diff of the changed notebooks in the summary.

Feedback never changes the exit code: a build identity without the right to comment (403,
TF401027), a missing token or an unreachable service gives one warning and the command goes on.

The pull request is reached through the pull-request threads port
(:mod:`devops_mlops.ports.pull_requests`), the adapter that ``context.for_config`` names.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MlopsError

if TYPE_CHECKING:  # the core module is imported where it is used: `mlops lint` imports this one always
    from ..core import pr_feedback as pf
    from ..ports.pull_requests import PullRequestThreads

COMMANDS = ("lint", "test", "deploy")


def wanted() -> bool:
    """Cheap check before anything is imported: in a pipeline, or in a pull-request build."""
    from ..console import in_pipeline

    return in_pipeline() or bool(os.environ.get("SYSTEM_PULLREQUEST_PULLREQUESTID"))


def _repo_root() -> Path:
    env = os.environ.get("BUILD_SOURCESDIRECTORY")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


def repo_path(shown: str, root: Path) -> str | None:
    """A path as commands print it (relative to the current folder) -> the repository path ("/a/b.py")."""
    try:
        return "/" + (Path.cwd() / shown).resolve().relative_to(root).as_posix()
    except ValueError:
        return None


def _skipped(console, pr_id: str, exc: MlopsError) -> None:
    code = getattr(exc, "code", None)
    text = exc.one_line()
    if code in ("403", "TF401027"):
        project = os.environ.get("SYSTEM_TEAMPROJECT") or "<project>"
        org = (os.environ.get("SYSTEM_COLLECTIONURI") or "").rstrip("/").rsplit("/", 1)[-1] or "<organization>"
        text = (f"{exc.message} (grant '{project} Build Service ({org})' 'Contribute to pull requests' in "
                f"Project settings > Repositories > Security, or run `mlops azure-devops setup`)")
    console.warn(f"no feedback on pull request {pr_id}: {text}")


def upload_summary(console, command: str, markdown: str) -> Path | None:
    """Inside a pipeline: the markdown in a file, attached to the run page."""
    from ..console import in_pipeline, mask

    if not in_pipeline():
        return None
    folder = Path(os.environ.get("AGENT_TEMPDIRECTORY") or Path.cwd() / ".mlops" / "summary")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"mlops-{command}-summary.md"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(mask(markdown), encoding="utf-8")
    tmp.replace(path)
    console.vso("task.uploadsummary", str(path))
    return path


def _lint_context(pr: PullRequestThreads, files: list[str], findings: list,
                  root: Path) -> tuple[list[list[str]], list[pf.Wanted], set[str]]:
    """Cell diffs of the changed notebooks and the threads of findings on changed lines."""
    from ..core import notebook as nbm
    from ..core import pr_feedback as pf
    from ..errors import InputError

    iteration = pr.last_iteration()
    if iteration is None:
        return [], [], set()
    base = iteration.base_commit
    changes = pr.changed_files(iteration.id)
    diffs: list[list[str]] = []
    wanted: list[pf.Wanted] = []
    scopes: set[str] = set()
    by_file: dict[str, list] = {}
    for f in findings:
        by_file.setdefault(f.path, []).append(f)
    for shown in files:
        path = repo_path(shown, root)
        if path is None:
            continue
        scopes.add(path)
        change = changes.get(path)
        if change is None or "delete" in change:
            continue
        local = Path(shown)
        new = local.read_text(encoding="utf-8", errors="replace")
        old = None if change == "add" else pr.file_text(path, base)
        lines = pf.changed_lines(old, new)
        if local.suffix.lower() == ".ipynb" or new.split("\n", 1)[0].endswith("Databricks notebook source"):
            try:
                new_cells = [c.source for c in nbm.loads(new.encode(), local).cells]
                old_cells = None if old is None else [c.source for c in nbm.loads(old.encode(), local).cells]
                diffs.append(pf.cell_diff(old_cells, new_cells, path.lstrip("/")))
            except InputError:
                pass
        text_lines = new.splitlines()
        for f in by_file.get(shown, []):
            if local.suffix.lower() == ".ipynb" or f.line not in lines:
                continue  # .ipynb lines are cell lines, not file lines: those stay in the summary
            line_text = text_lines[f.line - 1] if 0 < f.line <= len(text_lines) else ""
            key = pf.finding_key(path, f.code, f.message, line_text)
            body = f"**{f.code}** {f.message}\n\n`mlops lint`\n{pf.scope_line(path)}\n{pf.marker(key)}"
            wanted.append(pf.Wanted(key, body, path=path, line=f.line, scope=path))
    return diffs, wanted, scopes


def _open(config: Any) -> PullRequestThreads:
    from ..context import for_config

    return for_config("pull_requests", config)


def report(console, command: str, doc: dict, *, config=None, findings: list | None = None,
           files: list[str] | None = None,
           open_threads: Callable[[Any], PullRequestThreads] = _open) -> dict[str, Any]:
    """Publish the command's feedback (see the module docstring); returns what was done, for tests.
    ``open_threads(config)`` opens the pull request of this build (tests pass a fake's)."""
    from ..core import pr_feedback as pf
    from ..core import pr_summary

    done: dict[str, Any] = {"summary_file": None, "created": 0, "updated": 0, "closed": 0, "reopened": 0}
    pr_id = os.environ.get("SYSTEM_PULLREQUEST_PULLREQUESTID")
    pr = None
    diffs: list[list[str]] = []
    extra: list[pf.Wanted] = []
    scopes: set[str] = set()
    if pr_id:
        try:
            pr = open_threads(config)
            if command == "lint":
                diffs, extra, scopes = _lint_context(pr, files or [], findings or [], _repo_root())
        except MlopsError as exc:
            _skipped(console, pr_id, exc)
            pr = None
    build = {"lint": lambda: pr_summary.lint_markdown(doc, diffs), "test": lambda: pr_summary.test_markdown(doc),
             "deploy": lambda: pr_summary.deploy_markdown(doc)}[command]
    markdown, settled = build()
    done["summary_file"] = upload_summary(console, command, markdown)
    if pr is None:
        return done
    key = f"{command}:summary"
    summary = pf.Wanted(key, pf.clip(markdown) + "\n" + pf.marker(key), status="closed" if settled else "active")
    try:
        plan = pf.reconcile(pr.threads(), [summary, *extra], command=command, scopes=scopes)
        for a in plan.actions:
            if a.op == "create":
                pr.create(a.wanted.key, a.wanted.content, a.wanted.status, a.wanted.path, a.wanted.line)
            elif a.op == "update":
                if a.thread.content != a.wanted.content and a.thread.comment_id is not None:
                    pr.set_content(a.thread.id, a.thread.comment_id, a.wanted.content)
                if a.thread.status != a.wanted.status:
                    pr.set_status(a.thread.id, a.wanted.status)
            elif a.op == "reopen":
                pr.set_status(a.thread.id, "active")
            elif a.op == "close":
                pr.set_status(a.thread.id, "fixed")
            done[{"create": "created", "update": "updated", "close": "closed", "reopen": "reopened"}[a.op]] += 1
    except MlopsError as exc:
        _skipped(console, pr_id, exc)
    return done
