"""Saved plans: ``mlops sync|deploy --plan-out FILE`` writes one, ``--plan FILE`` applies exactly it.

Writing: the command plans as in a dry run; the plan, the target's identity and a fingerprint of
the remote state the plan was computed from go into FILE (see :mod:`devops_mlops.core.plan_file`),
written to a temporary file and renamed; a readable Markdown twin (FILE with ``.md``) is written
next to it and, inside Azure Pipelines, attached to the run page (``##vso[task.uploadsummary]``).

Applying: the file is checked (ours, untouched, same toolkit, this command, this target: else
exit 2 naming the file and the field), the remote state is read again and compared with the
fingerprint (anything moved: exit 1 naming each job or object, nothing written), then the
recorded actions are carried out by the same code a normal apply uses - no re-plan. A sync plan
also refuses when a repo file it uploads no longer has the content it was planned with.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .. import __version__
from ..console import mask
from ..core import plan_file as pf
from ..core import sync_plan as sp
from ..core.deploy_plan import DeployPlan, JobAction, PermissionAction, owner_tags
from ..errors import CheckFailed, ConfigError, InputError, MlopsError


# ------------------------------------------------------------------ identity, files
def identity(ctx) -> dict[str, Any]:
    """What makes a target this target: a plan for any other is refused."""
    t = ctx.target
    if t.backend == "databricks":
        host = t.host or os.environ.get("DATABRICKS_HOST") or (f"profile {t.profile}" if t.profile else None)
    else:  # the embedded default: this checkout's state folder is the "workspace"
        host = f"local {ctx.state_dir.resolve()}"
    out: dict[str, Any] = {"name": t.name, "backend": t.backend, "host": host.rstrip("/") if host else None,
                           "project": ctx.config.project}
    if t.backend == "databricks" and t.repo_path:
        out.update(repo_path=t.repo_path, branch=t.branch, tag=t.tag)
    else:
        out["workspace_dir"] = t.workspace_dir if t.backend == "databricks" else "/"
    return out


def write(ctx, path: Path, command: str, *, selection: dict, state: dict, sections: dict) -> dict:
    """Seal and write the plan (temporary file + rename), its Markdown twin, and attach that to the run."""
    from ..core.plan_summary import markdown

    doc = pf.seal({"format": pf.FORMAT, "format_version": pf.FORMAT_VERSION, "toolkit_version": __version__,
                   "command": command, "target": identity(ctx), "selection": selection,
                   "remote_state": pf.fingerprint(state), **sections})
    text = json.dumps(doc, indent=1, sort_keys=False) + "\n"
    if mask(text) != text:
        raise ConfigError(f"{path}: the plan would hold the value of a secret (a ${{ENV}} reference in "
                          f"{ctx.config.path.name}); nothing written",
                          hint="give jobs secrets through a secret scope ({{secrets/scope/key}}), not as values")
    _atomic_write(path, text)
    md = path.with_suffix(".md")
    _atomic_write(md, markdown(doc))
    ctx.console.vso("task.uploadsummary", str(md.resolve()))
    return doc


def _atomic_write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read(ctx, path: Path, command: str) -> dict:
    """The plan in ``path``, checked against this command and target (exit 2 naming the field)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no such plan file", path=path) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"field format: not a plan written by mlops (not JSON: {exc})", path=path) from None
    try:
        return pf.check(doc, command, identity(ctx), __version__)
    except pf.PlanFileError as exc:
        raise InputError(str(exc), path=path,
                         hint="write the plan again with `--plan-out` for this target") from None


def refuse_moved(path: Path, lines: list[str]) -> None:
    if lines:
        raise CheckFailed(f"the target changed since the plan {path} was written, nothing applied: "
                          + "; ".join(lines[:10]) + (f"; and {len(lines) - 10} more" if len(lines) > 10 else ""),
                          hint="review a new plan: run the command again with --plan-out")


def malformed(path: Path, field: str, exc: Exception):
    return InputError(f"field {field}: not what mlops writes ({type(exc).__name__}: {exc})", path=path)


# ------------------------------------------------------------------ deploy
def deploy_state(project: str, remote: list[tuple[int, dict]], only: list[str] | None,
                 plan: DeployPlan | None = None) -> dict[str, Any]:
    """One item per job the plan looked at: its key and a hash of its settings. That is every job
    of ours (of the selection), and any other job the plan acts on (a job the bundle CLI deployed,
    which the plan adopts: edited or deleted before the apply, it is as moved as one of ours)."""
    acted = {a.job_id: a.key for a in plan.actions if a.job_id is not None} if plan is not None else {}
    out = {}
    for job_id, settings in remote:
        proj, key = owner_tags(settings)
        if proj == project and key and (only is None or key in only):
            out[f"job {job_id}"] = {"key": key, "settings_sha256": pf.sha256(settings)}
        elif job_id in acted:
            out[f"job {job_id}"] = {"key": acted[job_id], "settings_sha256": pf.sha256(settings)}
    return out


def permissions_state(plan: DeployPlan, acl_of=None) -> dict[str, Any]:
    """One item per existing job whose permissions the plan manages: a hash of its direct ACL
    (``acl_of(job_id)`` reads it again; by default the ACL the plan was made from)."""
    out = {}
    for p in plan.permissions:
        if p.job_id is not None:
            try:
                acl = acl_of(p.job_id) if acl_of else (p.current or [])
            except MlopsError:  # the job is gone: its own item says so
                continue
            out[f"permissions of job {p.job_id}"] = {"key": p.key, "acl_sha256": pf.sha256(sorted(
                json.dumps(e, sort_keys=True) for e in acl))}
    return out


def _describe_job(name: str, before: dict | None, after: dict | None) -> str:
    if name.startswith("permissions of") and before is not None and after is not None:
        return f"{name} ({after['key']}) were changed"
    if before is None:
        return f"{name} ({after['key']}) appeared"
    if after is None:
        return f"{name} ({before['key']}) was deleted"
    return f"{name} ({after['key']}) was edited"


def save_deploy(ctx, result, path: Path, *, prune: bool) -> dict:
    from ..core.deploy_plan import added, normalize

    plan = result.plan
    remote = dict(result.remote)
    actions = []
    for a in plan.actions:
        # like a terraform plan: a create lists every setting, a delete every setting it removes
        if a.op == "create" and not a.diff:
            a.diff = added(normalize(a.settings, a.settings))
        elif a.op == "delete" and not a.diff and a.job_id in remote:
            a.diff = ["-" + line[1:] for line in added(normalize(remote[a.job_id]))]
        actions.append({"op": a.op, "key": a.key, "job_id": a.job_id, "reason": a.reason, "diff": a.diff,
                        "settings": a.settings})
    return write(ctx, path, "deploy",
                 selection={"only": plan.only, "prune": prune},
                 state={**deploy_state(ctx.config.project, result.remote, plan.only, plan), **permissions_state(plan)},
                 sections={"jobs": {"actions": actions,
                                    "foreign_same_name": [{"key": k, "job_id": j} for k, j in plan.foreign],
                                    "permissions": [{"op": p.op, "key": p.key, "job_id": p.job_id, "acl": p.acl,
                                                     "diff": p.diff} for p in plan.permissions]},
                           "artifacts": _bundle(path, getattr(result, "shipped", None))})


def _bundle(path: Path, shipped) -> list[dict]:
    """The wheels a deploy ships, copied next to the plan (``<plan>.artifacts/``) so the apply uploads
    exactly the bytes that were reviewed, without building again."""
    if shipped is None:
        return []
    out = []
    folder = path.parent / f"{path.stem}.artifacts"
    for art in shipped.artifacts:
        data = Path(art.local).read_bytes()
        if hashlib.sha256(data).hexdigest() != art.sha256:
            raise InputError(f"the built wheel no longer has the sha256 {art.sha256} it was planned with",
                             path=art.local)
        _atomic_write(folder / art.filename, data)
        out.append({**art.to_json(), "location": shipped.location,
                    "bundled": (folder / art.filename).relative_to(path.parent).as_posix()})
    return out


def _unbundle(path: Path, artifacts: list[dict]) -> list[dict]:
    """The plan's artifacts, each with ``bundled_file`` when its wheel is next to the plan, checked
    against the recorded sha256 (a changed wheel is exit 2). Without the bundle the apply builds the
    wheel again, which must give the planned hash (:func:`.artifacts.upload_planned`)."""
    out = []
    for i, a in enumerate(artifacts):
        entry = dict(a)
        file = path.parent / a["bundled"] if a.get("bundled") else None
        if file is not None and file.is_file():
            data = file.read_bytes()
            if hashlib.sha256(data).hexdigest() != a["sha256"] or len(data) != a["size"]:
                raise InputError(f"field artifacts[{i}].sha256: the wheel {file} does not have the sha256 "
                                 "the plan records (changed after the plan was written)", path=path)
            entry["bundled_file"] = str(file)
        out.append(entry)
    return out


def apply_deploy(ctx, path: Path, workers: int = 8):
    """Apply the deploy plan in ``path`` exactly (a dry run checks it and prints it)."""
    from .deploy import JOBS_LOCK, DeployResult, apply_plan

    doc = read(ctx, path, "deploy")
    only = doc["selection"].get("only")
    try:
        plan = DeployPlan(actions=[JobAction(a["op"], a["key"], a["job_id"], a["settings"], a["diff"], a["reason"])
                                   for a in doc["jobs"]["actions"]],
                          foreign=[(f["key"], f["job_id"]) for f in doc["jobs"]["foreign_same_name"]], only=only,
                          permissions=[PermissionAction(p["op"], p["key"], p["job_id"], p["acl"], p["diff"])
                                       for p in doc["jobs"].get("permissions", [])])
    except (KeyError, TypeError) as exc:
        raise malformed(path, "jobs.actions", exc) from None
    planned = _unbundle(path, doc["artifacts"])

    def checked() -> DeployResult:
        """The plan against the jobs as they are now: exit 1 naming each one that moved."""
        remote = [(job.job_id, job.settings) for job in ctx.jobs.list()]
        now = {**deploy_state(ctx.config.project, remote, only, plan),
               **permissions_state(plan, ctx.jobs.get_permissions if plan.permissions else None)}
        refuse_moved(path, pf.moved(doc["remote_state"]["items"], now, _describe_job))
        result = DeployResult(ctx.target.name, ctx.dry_run, plan, remote=remote)
        for a in plan.of("update", "unchanged"):
            result.job_ids[a.key] = a.job_id
        return result

    result = checked()  # a plan that moved is refused before anything, even a lock, is written
    if ctx.dry_run or not (planned or plan.writes()):
        return result
    from .artifacts import upload_planned
    from .lock import exclusive

    with exclusive(ctx, "mlops deploy --plan", name=JOBS_LOCK):
        result = checked()  # again under the lock: no other deploy moves the jobs from here on
        upload_planned(ctx, planned)  # the wheels the planned jobs install, first
        apply_plan(ctx, result, workers)
    return result


# ------------------------------------------------------------------ sync
def sync_state(seen, scope: list[str] | None) -> dict[str, Any]:
    """One item per remote object and folder in the plan's scope (and the sync manifest): its
    type and modification time."""
    out: dict[str, Any] = {}
    for rel, r in seen.remote.items():
        if rel == sp.MANIFEST_NAME or sp.in_scope(rel, scope):
            out[rel] = {"type": r.object_type, "modified_at": r.modified_at}
    for rel in seen.folders:
        if sp.in_scope(rel, scope):
            out[rel + "/"] = {"type": "DIRECTORY"}
    return out


def _describer(root: str):
    def describe(name: str, before: dict | None, after: dict | None) -> str:
        where = sp.join(root, name.rstrip("/"))
        what = "the sync manifest " + where if name == sp.MANIFEST_NAME else where
        if before is None:
            return f"{what} appeared"
        if after is None:
            return f"{what} was deleted"
        return f"{what} changed in the workspace"
    return describe


def _git_state(ws, path: str) -> dict[str, Any]:
    repo = ws.find_repo(path)
    return {"git_folder": {"head_commit_id": repo.head_commit_id} if repo else None}


def save_sync(ctx, result, path: Path, *, scope: list[str] | None, prune: bool, force: bool) -> dict:
    selection = {"scope": scope, "prune": prune, "force": force}
    if result.mode == "git_folder":
        g = result.git
        section = {"mode": "git_folder", "root": result.root, "action": g.get("action"),
                   "head_before": g.get("head_before"), "expected_commit": g.get("expected_commit")}
        return write(ctx, path, "sync", selection=selection,
                     state={"git_folder": {"head_commit_id": g["head_before"]} if g.get("action") == "update"
                            else None}, sections={"sync": section})
    plan, seen = result.plan, result.seen
    actions = [{"op": a.op, "rel": a.rel, "reason": a.reason, "recursive": a.recursive,
                "item": sp.item_json(a.item) if a.item else None}
               for a in plan.actions if a.op != "unchanged" or a.rel in seen.same]
    return write(ctx, path, "sync", selection=selection, state=sync_state(seen, scope),
                 sections={"sync": {"mode": "workspace", "root": plan.root, "mkdirs": plan.mkdirs,
                                    "actions": actions, "adopted": sorted(seen.same)}})


def _local_moved(ctx, items: list[sp.LocalItem]) -> list[str]:
    out = []
    for item in items:
        file = ctx.config.root / item.source
        try:
            digest = hashlib.sha256(file.read_bytes()).hexdigest()
        except OSError:
            out.append(f"{item.source} is gone from the repo")
            continue
        if digest != item.sha256:
            out.append(f"{item.source} changed in the repo")
    return out


def apply_sync(ctx, path: Path, workers: int = 16):
    """Apply the sync plan in ``path`` exactly (a dry run checks it and prints it)."""
    from .sync import Seen, SyncResult, _read_manifest, apply_workspace, scan_remote, sync_git_folder

    doc = read(ctx, path, "sync")
    s, scope = doc["sync"], doc["selection"].get("scope")
    if s.get("mode") == "git_folder":
        refuse_moved(path, pf.moved(doc["remote_state"]["items"], _git_state(ctx.workspace, s["root"]),
                                    lambda *_: f"the Git folder {s['root']} moved (its head or existence changed)"))
        return sync_git_folder(ctx, s.get("expected_commit"))
    root = s["root"]
    try:
        actions = [sp.Action(a["op"], a["rel"], a["reason"], sp.LocalItem(**a["item"]) if a["item"] else None,
                             a["recursive"]) for a in s["actions"]]
    except (KeyError, TypeError) as exc:
        raise malformed(path, "sync.actions", exc) from None
    plan = sp.SyncPlan(root, actions, list(s["mkdirs"]), scope)
    lines = _local_moved(ctx, [a.item for a in plan.of("create", "update")])
    ws = ctx.workspace
    remote, folders, _ = scan_remote(ws, root, workers)
    manifest = _read_manifest(ws, root, ctx) if sp.MANIFEST_NAME in remote else {}
    seen = Seen(remote, folders, manifest, set(s["adopted"]), {a.rel: a.item for a in actions if a.item})
    lines += pf.moved(doc["remote_state"]["items"], sync_state(seen, scope), _describer(root))
    refuse_moved(path, lines)
    result = SyncResult(ctx.target.name, "workspace", root, ctx.dry_run, plan, seen=seen)
    if not ctx.dry_run:
        apply_workspace(ctx, result, workers)
    return result
