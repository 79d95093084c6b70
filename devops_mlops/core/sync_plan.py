"""What ``mlops sync`` will do in workspace mode: plain logic, no I/O.

Inputs: the repo's notebooks and files (:class:`LocalItem`, with content hashes), what the
target folder holds (:class:`RemoteItem`, with modification times), and the manifest the
last sync left there (path -> sha256 and the modified_at it saw right after uploading).

Decisions per object:

* not on the target -> ``create``
* on the target, unchanged since our last sync (``modified_at`` equals the manifest's):
  ``update`` when the repo content changed, else ``unchanged``
* changed in the workspace since our last sync, or there but never synced by mlops
  -> ``conflict``: reported, left alone; ``--force`` updates. Unless its content equals ours:
  then it is adopted (``unchanged``), which is also how a sync killed between its uploads and
  its manifest converges when run again
* synced by us earlier, gone from the repo -> ``delete`` with ``--prune``, else ``stale``
* never synced by us, not in the repo -> ``unmanaged``: kept (``--prune --force`` deletes)

A partial sync (``scope``: ``mlops sync PATH...``) plans only the objects at or under the
scope's paths; everything else, in the repo or on the target, is left out of the plan (never
stale, never deleted), and the manifest keeps its other entries as they were.
"""

from __future__ import annotations

import posixpath
from dataclasses import asdict, dataclass, field

MANIFEST_NAME = ".mlops-sync.json"
SOURCE_HEADERS = {
    ".py": ("# Databricks notebook source", "PYTHON"),
    ".r": ("# Databricks notebook source", "R"),
    ".sql": ("-- Databricks notebook source", "SQL"),
    ".scala": ("// Databricks notebook source", "SCALA"),
}


@dataclass(frozen=True)
class LocalItem:
    rel: str  # path under the sync root as it will appear there ("sub/train", "conf/x.yaml")
    source: str  # the repo file, relative to the repo root
    format: str  # SOURCE | JUPYTER | RAW
    language: str | None
    sha256: str
    size: int = 0

    @property
    def object_type(self) -> str:
        return "FILE" if self.format == "RAW" else "NOTEBOOK"


@dataclass(frozen=True)
class RemoteItem:
    rel: str
    object_type: str
    modified_at: int | None = None


@dataclass
class Action:
    op: str  # create | update | delete | unchanged | conflict | stale | unmanaged
    rel: str
    reason: str = ""
    item: LocalItem | None = None
    recursive: bool = False  # delete of a folder


@dataclass
class SyncPlan:
    root: str
    actions: list[Action] = field(default_factory=list)
    mkdirs: list[str] = field(default_factory=list)  # folders to create (relative, parents first)
    #: the paths (relative to root) a partial sync was limited to (None: the whole tree)
    scope: list[str] | None = None

    def of(self, *ops: str) -> list[Action]:
        return [a for a in self.actions if a.op in ops]

    @property
    def writes(self) -> list[Action]:
        return self.of("create", "update", "delete")

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for a in self.actions:
            out[a.op] = out.get(a.op, 0) + 1
        return out

    def to_json(self) -> dict:
        doc = {"root": self.root, "mkdirs": self.mkdirs,
               "actions": [{"op": a.op, "path": join(self.root, a.rel), "reason": a.reason} for a in self.actions
                           if a.op != "unchanged"],
               "counts": self.counts()}
        if self.scope is not None:
            doc["scope"] = list(self.scope)
        return doc


def in_scope(rel: str, scope: list[str] | None) -> bool:
    """Whether ``rel`` is one of the scope's paths or under one of them (no scope: everything)."""
    if scope is None:
        return True
    return any(not s or rel == s or rel.startswith(s + "/") for s in scope)


def join(root: str, rel: str) -> str:
    return posixpath.join(root.rstrip("/") or "/", rel) if rel else root


def classify(rel_file: str, head: bytes) -> tuple[str, str, str | None]:
    """(name under the sync root, format, language) of a repo file given its first bytes."""
    base, ext = posixpath.splitext(rel_file)
    if ext == ".ipynb":
        return base, "JUPYTER", None
    header = SOURCE_HEADERS.get(ext.lower() if ext != ".R" else ".r")
    if header and head.lstrip(b"\xef\xbb\xbf").startswith(header[0].encode()):
        return base, "SOURCE", header[1]
    return rel_file, "RAW", None


def plan_sync(
    root: str,
    local: list[LocalItem],
    remote: dict[str, RemoteItem],
    remote_folders: set[str],
    manifest: dict[str, dict],
    *,
    prune: bool = False,
    force: bool = False,
    same_content: set[str] | None = None,
    scope: list[str] | None = None,
) -> SyncPlan:
    """``remote`` / ``manifest`` keys and ``remote_folders`` are relative to ``root`` ("" is root).
    ``same_content``: remote objects not in the manifest, or changed since it, whose content equals the
    repo's (adopted: an interrupted sync uploaded them, or someone made them equal).
    ``scope``: plan only what is at or under these relative paths."""
    same_content = same_content or set()
    plan = SyncPlan(root, scope=list(scope) if scope is not None else None)
    if scope is not None:
        local = [i for i in local if in_scope(i.rel, scope)]
        remote = {k: v for k, v in remote.items() if k == MANIFEST_NAME or in_scope(k, scope)}
        manifest = {k: v for k, v in manifest.items() if in_scope(k, scope)}
        # a folder outside the scope is never deleted; one that holds the scope is only a parent
        outside = {f for f in remote_folders if not in_scope(f, scope)}
    else:
        outside = set()
    wanted: set[str] = set()
    folders_needed: set[str] = set()
    for item in sorted(local, key=lambda i: i.rel):
        wanted.add(item.rel)
        parent = posixpath.dirname(item.rel)
        while parent:
            folders_needed.add(parent)
            parent = posixpath.dirname(parent)
        r = remote.get(item.rel)
        m = manifest.get(item.rel)
        if r is None:
            plan.actions.append(Action("create", item.rel, "deleted in the workspace" if m else "new", item))
        elif r.object_type != item.object_type and r.object_type == "DIRECTORY":
            plan.actions.append(Action("conflict", item.rel, "a folder is in the way", item))
        elif m is None:
            if item.rel in same_content:
                plan.actions.append(Action("unchanged", item.rel, "already there (adopted)", item))
            elif force:
                plan.actions.append(Action("update", item.rel, "not synced by mlops before (--force)", item))
            else:
                plan.actions.append(Action("conflict", item.rel, "exists in the workspace but was not synced by mlops", item))
        elif m.get("modified_at") != r.modified_at:
            if item.rel in same_content:  # e.g. uploaded by a sync that stopped before writing the manifest
                plan.actions.append(Action("unchanged", item.rel, "already there (adopted)", item))
            elif force:
                plan.actions.append(Action("update", item.rel, "changed in the workspace; overwritten (--force)", item))
            else:
                plan.actions.append(Action("conflict", item.rel, "changed in the workspace since the last sync", item))
        elif m.get("sha256") != item.sha256 or r.object_type != item.object_type:
            plan.actions.append(Action("update", item.rel, "changed in the repo", item))
        else:
            plan.actions.append(Action("unchanged", item.rel))
    plan.mkdirs = sorted(f for f in folders_needed if f not in remote_folders)

    # what is on the target but not in the repo
    gone: list[str] = []
    for rel, r in sorted(remote.items()):
        if rel in wanted or rel == MANIFEST_NAME:
            continue
        if rel in manifest:
            if prune:
                gone.append(rel)
            else:
                plan.actions.append(Action("stale", rel, "no longer in the repo (--prune deletes)"))
        elif prune and force:
            gone.append(rel)
        else:
            plan.actions.append(Action("unmanaged", rel, "not created by mlops; kept"))
    # whole folders that hold nothing we keep are deleted at once
    kept_paths = wanted | {a.rel for a in plan.actions if a.op in ("unmanaged", "stale")}
    dead_folders = []
    for folder in sorted(remote_folders):
        if not folder or folder in folders_needed or folder in outside:
            continue
        prefix = folder + "/"
        if any(p.startswith(prefix) for p in kept_paths):
            continue
        if not prune:
            continue
        if any(folder.startswith(d + "/") for d in dead_folders):
            continue
        dead_folders.append(folder)
    for folder in dead_folders:
        plan.actions.append(Action("delete", folder, "folder no longer in the repo", recursive=True))
    for rel in gone:
        if not any(rel.startswith(d + "/") for d in dead_folders):
            plan.actions.append(Action("delete", rel, "no longer in the repo"))
    return plan


def manifest_doc(entries: dict[str, dict]) -> dict:
    return {"version": 1, "objects": dict(sorted(entries.items()))}


def item_json(item: LocalItem) -> dict:
    return asdict(item)
