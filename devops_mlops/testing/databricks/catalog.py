"""Unity Catalog catalogs, schemas and privileges in the Databricks emulator (stateful).

Shapes after the public REST reference (``/api/2.1/unity-catalog``):

* ``GET /catalogs/{name}``: ``{name, full_name, owner, catalog_type, created_at, ...}``;
* ``GET /schemas/{full_name}``: ``{name, catalog_name, full_name, owner, created_at, ...}``;
* ``GET /effective-permissions/{securable_type}/{full_name}[?principal=...]``:
  ``{privilege_assignments: [{principal, privileges: [{privilege, inherited_from_type?,
  inherited_from_name?}]}]}``: what a principal holds on the securable, with what it inherits
  from the catalog above a schema (and from the metastore's owner: nobody here).

Unknown catalog or schema: 404 ``CATALOG_DOES_NOT_EXIST`` / ``SCHEMA_DOES_NOT_EXIST`` (the
codes the service answers, mapped by the SDK to ``NotFound``). A catalog's or schema's owner
holds ``ALL_PRIVILEGES`` on it. Helpers for tests: :meth:`CatalogStore.add_schema` (creates the
catalog too), :meth:`CatalogStore.grant`.
"""

from __future__ import annotations

import time
from typing import Any

from ..http import Request
from .server import err

#: securable types the effective-permissions route answers for
_TYPES = ("catalog", "schema", "volume", "table", "function")


class CatalogStore:
    def __init__(self, emu: Any):
        self.emu = emu
        self.catalogs: dict[str, dict[str, Any]] = {}
        self.schemas: dict[str, dict[str, Any]] = {}
        #: (securable type, full name) -> principal -> privileges granted directly
        self.grants: dict[tuple[str, str], dict[str, set[str]]] = {}
        r = emu.route
        r("GET", "/api/2.1/unity-catalog/catalogs/{name}", self._catalog)
        r("GET", "/api/2.1/unity-catalog/schemas/{full_name}", self._schema)
        r("GET", "/api/2.1/unity-catalog/effective-permissions/{securable_type}/{full_name}", self._effective)

    # ------------------------------------------------------------ helpers for tests
    def add_schema(self, full_name: str, *, owner: str | None = None) -> None:
        """Create ``catalog.schema`` (and its catalog); ``owner`` defaults to someone else."""
        catalog, _, schema = full_name.partition(".")
        if not catalog or not schema or "." in schema:
            raise ValueError("a schema is named catalog.schema")
        owner = owner or "account users admins"
        now = int(time.time() * 1000)
        with self.emu.lock:
            self.catalogs.setdefault(catalog, {"name": catalog, "full_name": catalog, "owner": owner,
                                               "catalog_type": "MANAGED_CATALOG", "created_at": now})
            self.schemas[full_name] = {"name": schema, "catalog_name": catalog, "full_name": full_name,
                                       "owner": owner, "created_at": now}

    def grant(self, securable_type: str, full_name: str, principal: str, *privileges: str) -> None:
        with self.emu.lock:
            held = self.grants.setdefault((securable_type.lower(), full_name), {}).setdefault(principal, set())
            held.update(privileges)

    # ------------------------------------------------------------ routes
    def _catalog(self, q: Request) -> dict:
        name = q.params["name"]
        with self.emu.lock:
            found = self.catalogs.get(name)
            if found is None:
                raise err(404, "CATALOG_DOES_NOT_EXIST", f"Catalog '{name}' does not exist.")
            return dict(found)

    def _schema(self, q: Request) -> dict:
        full_name = q.params["full_name"]
        with self.emu.lock:
            found = self.schemas.get(full_name)
            if found is None:
                raise err(404, "SCHEMA_DOES_NOT_EXIST", f"Schema '{full_name}' does not exist.")
            return dict(found)

    def _effective(self, q: Request) -> dict:
        kind, full_name = q.params["securable_type"].lower(), q.params["full_name"]
        if kind not in _TYPES:
            raise err(400, "INVALID_PARAMETER_VALUE", f"Unsupported securable type: {kind}")
        wanted = q.arg("principal")
        chain = [(kind, full_name)]
        if kind != "catalog":
            chain.append(("catalog", full_name.split(".", 1)[0]))
        if kind in ("volume", "table", "function"):
            chain.insert(1, ("schema", ".".join(full_name.split(".")[:2])))
        with self.emu.lock:
            if kind == "catalog" and full_name not in self.catalogs:
                raise err(404, "CATALOG_DOES_NOT_EXIST", f"Catalog '{full_name}' does not exist.")
            if kind == "schema" and full_name not in self.schemas:
                raise err(404, "SCHEMA_DOES_NOT_EXIST", f"Schema '{full_name}' does not exist.")
            by_principal: dict[str, list[dict[str, str]]] = {}
            for level, (ltype, lname) in enumerate(chain):
                owner = (self.catalogs if ltype == "catalog" else self.schemas).get(lname, {}).get("owner")
                direct = {p: set(v) for p, v in self.grants.get((ltype, lname), {}).items()}
                if owner:
                    direct.setdefault(owner, set()).add("ALL_PRIVILEGES")
                for principal, privileges in direct.items():
                    for privilege in sorted(privileges):
                        entry = {"privilege": privilege}
                        if level:
                            entry.update(inherited_from_type=ltype.upper(), inherited_from_name=lname)
                        by_principal.setdefault(principal, []).append(entry)
        assignments = [{"principal": p, "privileges": v} for p, v in sorted(by_principal.items())
                       if wanted is None or p == wanted]
        return {"privilege_assignments": assignments}
