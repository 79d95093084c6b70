"""A job's ``permissions`` block (the bundle shape), as the Jobs permissions API takes it.

In a job file, as bundles write it::

    permissions:
      - level: CAN_VIEW
        group_name: users
      - level: CAN_MANAGE_RUN
        service_principal_name: 1234-abcd

(``permission_level`` is accepted for ``level``, as the REST API names it). Each entry names
exactly one principal: ``user_name``, ``group_name`` or ``service_principal_name``.

mlops manages the *direct* permissions of a job that has a ``permissions`` block, and only
those: inherited ones (workspace admins) are the workspace's. The API replaces the direct
permissions as a whole (``PUT /api/2.0/permissions/jobs/{job_id}``) and a job always has exactly
one ``IS_OWNER``; a block without one keeps the current owner. A job without a block is left as
it is. All functions here are plain logic; the adapters do the requests.
"""

from __future__ import annotations

from typing import Any

JOB_LEVELS = ("CAN_VIEW", "CAN_MANAGE_RUN", "IS_OWNER", "CAN_MANAGE")
PRINCIPALS = ("user_name", "group_name", "service_principal_name")
OWNER = "IS_OWNER"


class PermissionsError(ValueError):
    """``key``: the path inside the block (for the caller's file-and-line message)."""

    def __init__(self, message: str, key: tuple = ()):
        super().__init__(message)
        self.message = message
        self.key = key


def parse(block: Any) -> list[dict[str, str]]:
    """The ACL entries ``[{<principal>: name, "permission_level": LEVEL}]`` of a ``permissions`` block,
    in the order written, repeats dropped. Raises :class:`PermissionsError`."""
    if not isinstance(block, list):
        raise PermissionsError("expected a list of {level, user_name | group_name | service_principal_name}")
    out: list[dict[str, str]] = []
    owners = 0
    for i, item in enumerate(block):
        if not isinstance(item, dict):
            raise PermissionsError("expected {level, user_name | group_name | service_principal_name}", (i,))
        unknown = [k for k in item if k not in ("level", "permission_level", *PRINCIPALS)]
        if unknown:
            raise PermissionsError(f"unknown key {unknown[0]!r} (known: level, {', '.join(PRINCIPALS)})",
                                   (i, unknown[0]))
        level = item.get("level", item.get("permission_level"))
        if level not in JOB_LEVELS:
            raise PermissionsError(f"level {level!r} is not a job permission (one of {', '.join(JOB_LEVELS)})",
                                   (i, "level" if "level" in item else "permission_level"))
        named = [k for k in PRINCIPALS if item.get(k)]
        if len(named) != 1:
            raise PermissionsError("name exactly one of " + ", ".join(PRINCIPALS), (i,))
        entry = {named[0]: str(item[named[0]]), "permission_level": str(level)}
        owners += level == OWNER
        if owners > 1 and level == OWNER:
            raise PermissionsError("a job has exactly one IS_OWNER", (i, "level"))
        if entry not in out:
            out.append(entry)
    return out


def principal(entry: dict) -> tuple[str, str]:
    for k in PRINCIPALS:
        if entry.get(k):
            return k, str(entry[k])
    return "", ""


def direct(response: dict) -> list[dict[str, str]]:
    """The direct (not inherited) entries of a permissions GET/PUT answer, one per principal and level."""
    out: list[dict[str, str]] = []
    for acl in response.get("access_control_list") or []:
        kind, name = principal(acl)
        if not kind:
            continue
        for perm in acl.get("all_permissions") or []:
            if not perm.get("inherited") and perm.get("permission_level"):
                out.append({kind: name, "permission_level": perm["permission_level"]})
    return out


def _key(entry: dict) -> tuple[str, str, str]:
    kind, name = principal(entry)
    return kind, name, entry.get("permission_level", "")


def to_send(desired: list[dict], current: list[dict]) -> list[dict] | None:
    """The ACL to PUT so the job's direct permissions are ``desired`` (the current owner kept when
    ``desired`` names none), or None when they are already."""
    want = list(desired)
    if not any(e["permission_level"] == OWNER for e in want):
        want += [e for e in current if e["permission_level"] == OWNER][:1]
    if sorted(map(_key, want)) == sorted(map(_key, current)):
        return None
    return want


def changes(desired: list[dict], current: list[dict]) -> list[str]:
    """Readable lines from ``current`` to ``desired`` ('+ group users: CAN_VIEW', '- user a@b: CAN_MANAGE')."""
    keep_owner = not any(e["permission_level"] == OWNER for e in desired)
    have = {_key(e) for e in current if not (keep_owner and e["permission_level"] == OWNER)}
    want = {_key(e) for e in desired}

    def fmt(sign: str, k: tuple) -> str:
        return f"{sign} permissions: {k[0].replace('_name', '')} {k[1]}: {k[2]}"

    return [fmt("-", k) for k in sorted(have - want)] + [fmt("+", k) for k in sorted(want - have)]
