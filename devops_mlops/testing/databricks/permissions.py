"""Identity and job permissions in the Databricks emulator (stateful).

Shapes after the public REST reference:

* ``GET /api/2.0/preview/scim/v2/Me``: the token's user, a SCIM ``User`` (``id``, ``userName``,
  ``displayName``, ``active``, ``emails``, ``groups``, ``schemas``).
* ``GET /api/2.0/permissions/jobs/{job_id}``: ``{object_id: "/jobs/<id>", object_type: "job",
  access_control_list: [{user_name | group_name | service_principal_name, display_name?,
  all_permissions: [{permission_level, inherited, inherited_from_object?}]}]}``. A new job's
  creator holds ``IS_OWNER``; the ``admins`` group holds an inherited ``CAN_MANAGE``.
* ``PUT`` (replace the direct permissions) and ``PATCH`` (add to them) with
  ``{access_control_list: [{<principal>, permission_level}]}``; both answer like ``GET``.
  A job keeps exactly one ``IS_OWNER``: a PUT without one, or with two, is
  ``400 INVALID_PARAMETER_VALUE``, as is a level that jobs do not have or an entry that names no
  principal (or two). Unknown job: ``404 RESOURCE_DOES_NOT_EXIST``.

Helpers for tests: ``emu.permissions.acl(job_id)`` (the direct entries), ``emu.permissions.sets``
(how many PUT/PATCH calls changed something or not).
"""

from __future__ import annotations

import copy
from typing import Any

from ..http import Request
from .server import err

_LEVELS = ("CAN_VIEW", "CAN_MANAGE_RUN", "IS_OWNER", "CAN_MANAGE")
_PRINCIPALS = ("user_name", "group_name", "service_principal_name")


class PermissionStore:
    def __init__(self, emu: Any):
        self.emu = emu
        #: job_id -> the direct entries, once set (else the creator owns the job)
        self.direct: dict[int, list[dict[str, str]]] = {}
        self.sets = 0
        r = emu.route
        r("GET", "/api/2.0/preview/scim/v2/Me", self._me)
        r("GET", "/api/2.0/permissions/jobs/{job_id}", self._get)
        r("PUT", "/api/2.0/permissions/jobs/{job_id}", self._put)
        r("PATCH", "/api/2.0/permissions/jobs/{job_id}", self._patch)

    # ------------------------------------------------------------ helpers for tests
    def acl(self, job_id: int) -> list[dict[str, str]]:
        with self.emu.lock:
            return copy.deepcopy(self._entries(job_id))

    # ------------------------------------------------------------ identity
    def _me(self, q: Request) -> dict:
        user = self.emu.user
        return {"id": str(abs(hash(user)) % 10**15), "userName": user,
                "displayName": user.split("@", 1)[0].replace(".", " ").title(), "active": True,
                "emails": [{"value": user, "type": "work", "primary": True}],
                "groups": [{"display": "users", "value": "1", "$ref": "Groups/1"}],
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}

    # ------------------------------------------------------------ permissions
    def _job_id(self, q: Request) -> int:
        raw = q.params.get("job_id", "")
        if not raw.isdigit() or int(raw) not in self.emu.jobs:
            raise err(404, "RESOURCE_DOES_NOT_EXIST", f"Job {raw} does not exist.")
        return int(raw)

    def _entries(self, job_id: int) -> list[dict[str, str]]:
        if job_id in self.direct:
            return self.direct[job_id]
        creator = (self.emu.job_meta.get(job_id) or {}).get("creator_user_name") or self.emu.user
        return [{"user_name": creator, "permission_level": "IS_OWNER"}]

    def _doc(self, job_id: int) -> dict:
        by: dict[tuple[str, str], list[dict]] = {}
        for e in self._entries(job_id):
            kind = next(k for k in _PRINCIPALS if k in e)
            by.setdefault((kind, e[kind]), []).append({"permission_level": e["permission_level"], "inherited": False})
        by.setdefault(("group_name", "admins"), []).append(
            {"permission_level": "CAN_MANAGE", "inherited": True, "inherited_from_object": ["/jobs/"]})
        acl = []
        for (kind, name), perms in by.items():
            entry: dict[str, Any] = {kind: name, "all_permissions": perms}
            if kind == "user_name":
                entry["display_name"] = name.split("@", 1)[0]
            acl.append(entry)
        return {"object_id": f"/jobs/{job_id}", "object_type": "job", "access_control_list": acl}

    def _parse(self, q: Request) -> list[dict[str, str]]:
        body = q.json or {}
        items = body.get("access_control_list")
        if not isinstance(items, list):
            raise err(400, "INVALID_PARAMETER_VALUE", "access_control_list must be a list")
        out = []
        for item in items:
            named = [k for k in _PRINCIPALS if isinstance(item, dict) and item.get(k)]
            if len(named) != 1:
                raise err(400, "INVALID_PARAMETER_VALUE",
                           "Each access control entry must name exactly one of user_name, group_name, "
                           "service_principal_name")
            level = item.get("permission_level")
            if level not in _LEVELS:
                raise err(400, "INVALID_PARAMETER_VALUE", f"Permission level {level} is not valid for jobs")
            entry = {named[0]: item[named[0]], "permission_level": level}
            if entry not in out:
                out.append(entry)
        return out

    def _check_owner(self, entries: list[dict]) -> None:
        owners = [e for e in entries if e["permission_level"] == "IS_OWNER"]
        if len(owners) != 1:
            raise err(400, "INVALID_PARAMETER_VALUE", "The job must have exactly one owner.")
        if "group_name" in owners[0]:
            raise err(400, "INVALID_PARAMETER_VALUE", "Group cannot be the owner of a job.")

    def _get(self, q: Request) -> dict:
        return self._doc(self._job_id(q))

    def _put(self, q: Request) -> dict:
        job_id = self._job_id(q)
        entries = self._parse(q)
        self._check_owner(entries)
        self.direct[job_id] = entries
        self.sets += 1
        return self._doc(job_id)

    def _patch(self, q: Request) -> dict:
        job_id = self._job_id(q)
        merged = list(self._entries(job_id))
        for e in self._parse(q):
            if e["permission_level"] == "IS_OWNER":
                merged = [m for m in merged if m["permission_level"] != "IS_OWNER"]
            if e not in merged:
                merged.append(e)
        self._check_owner(merged)
        self.direct[job_id] = merged
        self.sets += 1
        return self._doc(job_id)

    def forget(self, job_id: int) -> None:
        self.direct.pop(job_id, None)
