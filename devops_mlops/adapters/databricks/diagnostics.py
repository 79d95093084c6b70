"""The diagnostics port over a Databricks workspace, through the SDK: the checks `mlops doctor`
runs after the versions and before the registry, in order (a check that cannot run because an
earlier one failed is skipped):

1. ``host``: the workspace answers at all (refused, DNS, TLS, timeout);
2. ``identity``: who the credentials are (user or service principal) and by which auth;
3. ``workspace``: the workspace folder (or the Git folder's parent) takes a folder, removed again;
4. ``artifacts``: the artifacts volume takes a file, removed again;
5. ``catalog`` / ``schema``: the tables' (and a Unity Catalog model's) catalog and schema exist,
   and this identity, directly or through its groups, may use them and create tables, volumes
   and models there.

Nothing a probe writes outlives it.
"""

from __future__ import annotations

import io
import os
import posixpath
from collections.abc import Callable
from typing import Any

from ...errors import MlopsError
from ...ports.diagnostics import FAILED, OK, SKIPPED, Check, Probe
from .client import client_for, is_not_found, translate

#: privileges a release needs on a schema (ALL_PRIVILEGES covers them)
SCHEMA_NEEDS = ("USE_SCHEMA", "CREATE_TABLE", "CREATE_VOLUME")
MODEL_NEEDS = ("USE_SCHEMA", "CREATE_MODEL")


class DatabricksDiagnostics:
    """The workspace checks of one target (see the module docstring)."""

    def __init__(self, target: Any, model_name: str, connect: Callable[[], Any]) -> None:
        self.target = target
        self.model_name = model_name
        #: builds the SDK client, probing the host first (MlopsError when it cannot be used)
        self.connect = connect

    def probe(self) -> Probe:
        checks: list[Check] = []
        add = checks.append
        try:
            w = self.connect()
        except MlopsError as exc:
            add(Check("host", FAILED, exc.message, exc.hint))
            for name in ("identity", "workspace", "artifacts", "catalog"):
                add(Check(name, SKIPPED, "the host cannot be used"))
            return Probe(checks, "the host cannot be used")
        add(Check("host", OK, f"{w.config.host} answers"))
        me = _identity(w, add)
        if me is None:
            for name in ("workspace", "artifacts", "catalog"):
                add(Check(name, SKIPPED, "the credentials are refused"))
            return Probe(checks, "the credentials are refused")
        add(_workspace(self.target, w))
        add(_artifacts(self.target, w))
        checks.extend(_catalog(self.target, self.model_name, w, me))
        return Probe(checks)


def _identity(w: Any, add) -> Any:
    try:
        me = w.current_user.me()
    except Exception as exc:  # noqa: BLE001 - reported as the check's outcome
        err = translate(exc, "who am I (SCIM Me)")
        add(Check("identity", FAILED, err.message, err.hint))
        return None
    kind = "service principal" if _looks_like_app_id(me.user_name) else "user"
    add(Check("identity", OK, f"{kind} {me.user_name} ({me.display_name or '-'}), auth {w.config.auth_type}"))
    return me


def _looks_like_app_id(name: str | None) -> bool:
    parts = (name or "").split("-")
    return len(parts) == 5 and all(p and all(ch in "0123456789abcdef" for ch in p.lower()) for p in parts)


def _workspace(target: Any, w: Any) -> Check:
    folder = target.workspace_dir or posixpath.dirname(target.repo_path.rstrip("/"))
    what = "workspace folder" if target.workspace_dir else "parent of the Git folder"
    if target.repo_path:
        try:
            found = [r for r in w.repos.list(path_prefix=target.repo_path) if r.path == target.repo_path]
        except Exception as exc:  # noqa: BLE001
            err = translate(exc, f"list Git folders under {target.repo_path}")
            return Check("workspace", FAILED, err.message, err.hint)
        if found:
            repo = found[0]
            return Check("workspace", OK, f"Git folder {target.repo_path} exists ({repo.url}, {repo.branch or '-'})")
    # the highest folder the probe creates is the one removed afterwards
    existing = folder
    created_top = None
    while existing not in ("", "/"):
        try:
            w.workspace.get_status(existing)
            break
        except Exception as exc:  # noqa: BLE001
            if not is_not_found(exc):
                err = translate(exc, f"read {existing}")
                return Check("workspace", FAILED, err.message, err.hint)
            created_top, existing = existing, posixpath.dirname(existing)
    probe = posixpath.join(folder, f".mlops-doctor-{os.urandom(4).hex()}")
    try:
        w.workspace.mkdirs(probe)
    except Exception as exc:  # noqa: BLE001
        err = translate(exc, f"create a folder in {folder}")
        return Check("workspace", FAILED, err.message,
                     f"grant the identity CAN_MANAGE on {existing or '/'} (workspace folder permissions)")
    try:
        w.workspace.delete(created_top or probe, recursive=True)
    except Exception:  # noqa: BLE001, S110 - best effort; named below
        return Check("workspace", OK, f"{what} {folder} is writable (could not remove the probe {probe})")
    note = " (it will be created)" if created_top else ""
    return Check("workspace", OK, f"{what} {folder} is writable{note}")


def _artifacts(target: Any, w: Any) -> Check:
    path = (target.artifacts.path or "").rstrip("/")
    if not path:
        return Check("artifacts", SKIPPED, "no artifacts.path: jobs take no wheel from a volume")
    if not path.startswith("/Volumes/"):
        return Check("artifacts", SKIPPED, f"{path} is not a Unity Catalog volume")
    probe = f"{path}/.mlops-doctor-{os.urandom(4).hex()}"
    try:
        w.files.upload(probe, io.BytesIO(b"mlops doctor\n"), overwrite=True)
    except Exception as exc:  # noqa: BLE001
        err = translate(exc, f"write {path}")
        volume = ".".join(path.split("/")[2:5])
        return Check("artifacts", FAILED, err.message,
                     f"create the volume {volume} or grant the identity READ VOLUME and WRITE VOLUME on it")
    try:
        w.files.delete(probe)
    except Exception:  # noqa: BLE001
        return Check("artifacts", OK, f"{path} is writable (could not remove the probe {probe})")
    return Check("artifacts", OK, f"{path} is writable")


def _catalog(target: Any, name: str, w: Any, me: Any) -> list[Check]:
    tables = target.tables
    wanted: dict[str, tuple[str, ...]] = {}
    if tables.catalog and tables.schema:
        wanted[f"{tables.catalog}.{tables.schema}"] = SCHEMA_NEEDS
    if name.count(".") == 2:
        schema = name.rsplit(".", 1)[0]
        wanted[schema] = tuple(dict.fromkeys(wanted.get(schema, ()) + MODEL_NEEDS))
    if not wanted:
        return [Check("catalog", SKIPPED, "no Unity Catalog catalog in tables or the model's name")]
    principals = {me.user_name} | {g.display for g in (me.groups or []) if g.display}
    return [_schema_check(w, full, needs, principals, me.user_name) for full, needs in wanted.items()]


def _schema_check(w: Any, full: str, needs: tuple[str, ...], principals: set[str], who: str) -> Check:
    catalog = full.split(".", 1)[0]
    name = f"schema {full}"
    for kind, getter, arg in (("catalog", w.catalogs.get, catalog), ("schema", w.schemas.get, full)):
        try:
            getter(arg)
        except Exception as exc:  # noqa: BLE001
            if is_not_found(exc) or "DOES_NOT_EXIST" in str(getattr(exc, "error_code", "")):
                return Check(name, FAILED, f"{kind} {arg} does not exist",
                             f"CREATE {kind.upper()} {arg} (or ask the metastore admin)")
            err = translate(exc, f"read {kind} {arg}")
            return Check(name, FAILED, err.message, err.hint)
    held: set[str] = set()
    for kind, securable in (("catalog", catalog), ("schema", full)):
        try:
            found = w.grants.get_effective(kind, securable)
        except Exception as exc:  # noqa: BLE001
            err = translate(exc, f"read the privileges on {kind} {securable}")
            return Check(name, FAILED, err.message, err.hint)
        for assignment in found.privilege_assignments or []:
            if assignment.principal in principals:
                held |= {_privilege(p.privilege) for p in assignment.privileges or []}
    needs_all = ("USE_CATALOG",) + needs
    missing = [] if "ALL_PRIVILEGES" in held else [p for p in needs_all if p not in held]
    if missing:
        grants = "; ".join(f"GRANT {p.replace('_', ' ')} ON {'CATALOG ' + catalog if p == 'USE_CATALOG' else 'SCHEMA ' + full}"
                           f" TO `{who}`" for p in missing)
        return Check(name, FAILED, f"{who} lacks {', '.join(missing)}", grants)
    return Check(name, OK, f"exists; {who} may {', '.join(p.lower().replace('_', ' ') for p in needs)}")


def _privilege(value: Any) -> str:
    return str(getattr(value, "value", value))


def from_context(ctx: Any) -> DatabricksDiagnostics:
    return DatabricksDiagnostics(ctx.target, ctx.config.model.name, lambda: client_for(ctx))
