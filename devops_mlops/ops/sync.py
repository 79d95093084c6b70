"""`mlops sync`: put the repo's notebooks where the target runs them.

Workspace mode (``workspace_dir``, and every local target): incremental import of the
notebooks folder, planned by :mod:`devops_mlops.core.sync_plan` from a manifest kept in the
target folder (``.mlops-sync.json``) cross-checked with the objects' modification times.
Git folder mode (``repo_path``): find or create the Git folder, pull the release branch or tag,
check its head commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import killpoint
from ..core import notebook as nbm
from ..core import sync_plan as sp
from ..errors import CheckFailed, ConfigError, InputError, MlopsError, ServiceError, UsageError

PROVIDER = "azureDevOpsServices"
_SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", ".git"}


@dataclass
class SyncResult:
    target: str
    mode: str  # workspace | git_folder
    root: str
    dry_run: bool
    plan: sp.SyncPlan | None = None
    git: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    #: what the plan was computed from (workspace mode), for the apply and a saved plan:
    #: remote objects, remote folders, the manifest, adopted objects, the repo's items by path
    seen: "Seen | None" = field(default=None, repr=False)

    @property
    def conflicts(self) -> list[sp.Action]:
        return self.plan.of("conflict") if self.plan else []

    def to_json(self) -> dict:
        doc: dict[str, Any] = {"target": self.target, "mode": self.mode, "root": self.root, "dry_run": self.dry_run}
        if self.plan is not None:
            doc.update(self.plan.to_json())
        if self.git:
            doc["git_folder"] = self.git
        if self.errors:
            doc["errors"] = self.errors
        return doc


@dataclass
class Seen:
    remote: dict[str, sp.RemoteItem]
    folders: set[str]
    manifest: dict[str, dict]
    same: set[str]
    by_rel: dict[str, sp.LocalItem]


# ------------------------------------------------------------------ local side
def _check_notebook(fmt: str, data: bytes, path: Path) -> None:
    """A notebook the workspace would refuse stops the sync before anything is written."""
    if fmt == "JUPYTER":
        nbm.loads(data, path)
    elif fmt == "SOURCE":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError("not UTF-8 text", path=path, line=data[: exc.start].count(b"\n") + 1) from None


def local_items(config) -> list[sp.LocalItem]:
    folder = config.notebooks_dir
    if not folder.is_dir():
        raise InputError(f"no notebooks folder {config.notebooks!r} next to {config.path.name}", path=folder)
    items: list[sp.LocalItem] = []
    seen: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or name.endswith((".pyc", "~")):
                continue
            path = Path(dirpath) / name
            big = nbm.too_large(path, path.stat().st_size)
            if big:
                raise big
            data = path.read_bytes()
            rel_file = path.relative_to(folder).as_posix()
            rel, fmt, lang = sp.classify(rel_file, data[:64])
            _check_notebook(fmt, data, path)
            source = path.relative_to(config.root).as_posix()
            if rel in seen:
                raise InputError(f"{source} and {seen[rel]} would both become {rel!r} in the workspace",
                                 path=path, hint="rename one of them")
            seen[rel] = source
            items.append(sp.LocalItem(rel, source, fmt, lang, hashlib.sha256(data).hexdigest(), len(data)))
    return items


def runtime_items(config, items: list[sp.LocalItem]) -> list[sp.LocalItem]:
    """What the notebooks' runtime reads besides the notebooks: mlops.yaml, at the sync root, where
    the session finds it from a notebook's folder upwards (workspace mode on Databricks)."""
    if any(i.rel == config.path.name for i in items):
        return []
    data = config.path.read_bytes()
    return [sp.LocalItem(config.path.name, config.path.relative_to(config.root).as_posix(), "RAW", None,
                         hashlib.sha256(data).hexdigest(), len(data))]


# ------------------------------------------------------------------ remote side
def _relative(root: str, path: str) -> str:
    root = root.rstrip("/")
    return path[len(root) + 1:] if root else path.lstrip("/")


def scan_remote(ws, root: str, workers: int) -> tuple[dict[str, sp.RemoteItem], set[str], bool]:
    """Everything under ``root``: one ``list`` per folder. Returns (objects, folders, root exists)."""
    objects: dict[str, sp.RemoteItem] = {}
    folders: set[str] = set()
    first = ws.list(root)
    root_exists = bool(first)
    level = [("", first)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while level:
            subfolders: list[str] = []
            for _, children in level:
                for obj in children:
                    rel = _relative(root, obj.path)
                    if obj.object_type in ("DIRECTORY", "REPO"):
                        folders.add(rel)
                        subfolders.append(obj.path)
                    else:
                        objects[rel] = sp.RemoteItem(rel, obj.object_type, obj.modified_at)
            level = list(zip(subfolders, pool.map(ws.list, subfolders)))
    return objects, folders, root_exists


def _read_manifest(ws, root: str, ctx) -> dict[str, dict]:
    try:
        doc = json.loads(ws.export(sp.join(root, sp.MANIFEST_NAME), format="RAW"))
        return dict(doc.get("objects") or {})
    except ValueError:
        ctx.console.warn(f"{sp.join(root, sp.MANIFEST_NAME)} is not valid JSON; treating every object as unknown")
        return {}


def _export_format(item: sp.LocalItem) -> str:
    return item.format if item.format != "RAW" else "AUTO"


# ------------------------------------------------------------------ workspace mode
def _leaf_folders(folders: list[str]) -> list[str]:
    return [f for f in folders if not any(o != f and (f == "" or o.startswith(f + "/")) for o in folders)]


def sync_workspace(ctx, root: str, *, prune: bool, force: bool, workers: int,
                   scope: list[str] | None = None) -> SyncResult:
    # bad input stops the sync before the workspace is touched
    items = local_items(ctx.config)
    if ctx.target.backend == "databricks":
        items += runtime_items(ctx.config, items)
    items = [i for i in items if sp.in_scope(i.rel, scope)]
    ws = ctx.workspace
    by_rel = {i.rel: i for i in items}
    remote, folders, root_exists = scan_remote(ws, root, workers)
    manifest = _read_manifest(ws, root, ctx) if sp.MANIFEST_NAME in remote else {}
    # objects there already that we never synced, or that changed since the manifest (also what an
    # interrupted sync uploaded before it could write the manifest): adopt those whose content equals ours
    unknown = [r for r in remote if r in by_rel and not force
               and (r not in manifest or manifest[r].get("modified_at") != remote[r].modified_at)]
    same: set[str] = set()
    if unknown:
        def same_content(rel: str) -> bool:
            try:
                data = ws.export(sp.join(root, rel), format=_export_format(by_rel[rel]))
            except MlopsError:
                return False
            return hashlib.sha256(data).hexdigest() == by_rel[rel].sha256

        with ThreadPoolExecutor(max_workers=workers) as pool:
            same = {rel for rel, ok in zip(unknown, pool.map(same_content, unknown)) if ok}
    plan = sp.plan_sync(root, items, remote, folders, manifest, prune=prune, force=force, same_content=same,
                        scope=scope)
    if not root_exists and plan.of("create"):
        plan.mkdirs.insert(0, "")
    result = SyncResult(ctx.target.name, "workspace", root, ctx.dry_run, plan,
                        seen=Seen(remote, folders, manifest, same, by_rel))
    if ctx.dry_run:
        return result
    apply_workspace(ctx, result, workers)
    return result


def apply_workspace(ctx, result: SyncResult, workers: int) -> None:
    """Carry out ``result.plan``: folders, uploads, deletes, then the manifest."""
    ws, root, plan = ctx.workspace, result.root, result.plan
    manifest, same, by_rel, remote = result.seen.manifest, result.seen.same, result.seen.by_rel, result.seen.remote
    for folder in _leaf_folders(plan.mkdirs):
        ws.mkdirs(sp.join(root, folder))
    killpoint.reached("sync.mkdirs")
    uploads = plan.of("create", "update")
    progress = ctx.console.tracker(len(uploads), "sync")
    done: set[str] = set()

    def upload(action: sp.Action) -> str | None:
        item = action.item
        assert item is not None
        try:
            data = (ctx.config.root / item.source).read_bytes()
            ws.import_(sp.join(root, item.rel), data, format=item.format, language=item.language, overwrite=True)
            done.add(item.rel)
            killpoint.reached("sync.upload")
            return None
        except MlopsError as exc:
            return f"{item.source}: {exc.one_line()}"
        finally:
            progress.step()

    with progress, ThreadPoolExecutor(max_workers=workers) as pool:
        result.errors += [e for e in pool.map(upload, uploads) if e]
    deleted: set[str] = set()
    for action in plan.of("delete"):
        try:
            ws.delete(sp.join(root, action.rel), recursive=action.recursive)
            deleted.add(action.rel)
            killpoint.reached("sync.delete")
        except MlopsError as exc:
            result.errors.append(f"{sp.join(root, action.rel)}: {exc.one_line()}")

    # the manifest: what we put there and the modification time it has now (entries of objects gone
    # from the target, e.g. deleted by a run that was killed before it wrote the manifest, are dropped)
    new_manifest = {k: v for k, v in manifest.items()
                    if k in remote and not any(k == d or k.startswith(d + "/") for d in deleted)}
    touched = sorted({posixpath.dirname(rel) for rel in done} | ({posixpath.dirname(r) for r in same}))
    if touched:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            listings = list(pool.map(ws.list, [sp.join(root, f) for f in touched]))
        times = {_relative(root, o.path): o.modified_at for objs in listings for o in objs}
        for rel in done | same:
            new_manifest[rel] = {"sha256": by_rel[rel].sha256, "modified_at": times.get(rel)}
    killpoint.reached("sync.manifest")
    if new_manifest != manifest:
        body = json.dumps(sp.manifest_doc(new_manifest), indent=1).encode()
        ws.import_(sp.join(root, sp.MANIFEST_NAME), body, format="RAW", language=None, overwrite=True)


# ------------------------------------------------------------------ Git folder mode
def sync_git_folder(ctx, commit: str | None) -> SyncResult:
    target = ctx.target
    ws = ctx.workspace
    path = target.repo_path.rstrip("/")
    ref = {"branch": target.branch} if target.branch else {"tag": target.tag}
    expected = commit or os.environ.get("BUILD_SOURCEVERSION") or None
    result = SyncResult(target.name, "git_folder", path, ctx.dry_run)
    repo = ws.find_repo(path)
    git: dict[str, Any] = {"path": path, **ref, "expected_commit": expected}
    result.git = git
    if repo is None:
        if not target.git_url:
            raise ConfigError(f"targets.{target.name}.git_url: needed to create the Git folder {path}",
                              path=ctx.config.path)
        git["action"] = "create"
        if ctx.dry_run:
            return result
        repo = ws.create_repo(target.git_url, PROVIDER, path)
    else:
        git["action"] = "update"
        git["head_before"] = repo.head_commit_id
        if target.git_url and repo.url and repo.url.rstrip("/") != target.git_url.rstrip("/"):
            ctx.console.warn(f"the Git folder {path} is linked to {repo.url}, not {target.git_url}")
        if ctx.dry_run:
            return result
    git["id"] = repo.id
    ws.update_repo(repo.id, path=path, **ref)
    repo = ws.get_repo(repo.id)
    git["head_commit_id"] = repo.head_commit_id
    if expected and not (repo.head_commit_id or "").startswith(expected.lower()):
        raise CheckFailed(
            f"the Git folder {path} is at {repo.head_commit_id} after pulling {next(iter(ref.values()))}, "
            f"but this release is {expected}",
            hint="the branch moved on after this build started, or the commit is not pushed yet: "
                 "push it, or re-run the release for the branch head",
        )
    return result


# ------------------------------------------------------------------ entry point
def sync(ctx, *, prune: bool = False, force: bool = False, commit: str | None = None, workers: int = 16,
         scope: list[str] | None = None) -> SyncResult:
    """``scope``: a partial sync of these paths under the sync root (see :mod:`.sync_scope`)."""
    target = ctx.target
    if target.backend == "databricks" and target.repo_path:
        if scope is not None:
            raise UsageError(f"target {target.name} syncs a Git folder, which pulls the whole branch: "
                             "`mlops sync PATH` works in workspace mode only")
        if prune:
            ctx.console.warn("--prune has no effect on a Git folder: pulling the branch removes deleted files")
        return sync_git_folder(ctx, commit)
    root = (target.workspace_dir or "/") if target.backend == "databricks" else "/"
    result = sync_workspace(ctx, root.rstrip("/") or "/", prune=prune, force=force, workers=workers, scope=scope)
    if result.errors and not ctx.dry_run:
        raise ServiceError(f"{len(result.errors)} object(s) could not be synced; first: {result.errors[0]}",
                           hint="run `mlops sync` again: what succeeded is recorded and not uploaded twice")
    return result
