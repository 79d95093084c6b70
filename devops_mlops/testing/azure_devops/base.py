"""The core of the Azure DevOps loopback emulator: resource-location discovery,
auth, WrappedException errors, the organization's projects and identities.

Azure DevOps clients (the ``azure-devops`` Python SDK, the node API, the CLI)
never hard-code URLs: they ask ``OPTIONS <org>/_apis`` for the list of
``ApiResourceLocation`` {id, area, resourceName, routeTemplate, resourceVersion,
minVersion, maxVersion, releasedVersion}, then build each URL from the route
template of a location id. They also read ``GET _apis/ResourceAreas`` to learn
which host serves each area. This module serves both from one table
(:class:`Location`), and routes the requests by that same table, so what the
emulator advertises is exactly what it answers.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from ..http import Emulator, Faults, HttpError, Request, Response


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Location:
    """One ApiResourceLocation, and the handlers that answer it (method -> fn(req))."""

    id: str
    area: str
    resource: str
    template: str
    resource_version: int = 1
    max_version: float = 7.1
    min_version: float = 1.0
    released: str = "7.0"
    area_id: str | None = None
    handlers: dict[str, Callable[[Request], Any]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "area": self.area,
            "resourceName": self.resource,
            "routeTemplate": self.template,
            "resourceVersion": self.resource_version,
            "minVersion": str(self.min_version),
            "maxVersion": str(self.max_version),
            "releasedVersion": self.released,
        }

    def regex(self, org: str) -> re.Pattern:
        parts = [re.escape(org)]
        for seg in self.template.split("/"):
            seg = seg.replace("{area}", self.area).replace("{resource}", self.resource)
            m = re.fullmatch(r"\{(\*?)(\w+)\}", seg)
            if m:
                inner = ".+" if m.group(1) else "[^/]+"
                parts.append(f"(?:/(?P<{m.group(2)}>{inner}))?")
            else:
                lit = re.escape(seg)
                lit = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", lit)
                parts.append("/" + lit)
        return re.compile("^/" + "".join(parts).lstrip("/") + "/?$", re.IGNORECASE)

    def specificity(self) -> int:
        return len(re.sub(r"\{[^}]*\}", "", self.template.replace("{area}", self.area).replace("{resource}", self.resource)))


#: resource area ids (GET _apis/ResourceAreas); each SDK client asks for its own
AREAS = {
    "core": "79134c72-4a58-4b42-976c-04e7115f32bf",
    "git": "4e080c62-fa21-4fbc-8fef-2a10a2b38049",
    "wit": "5264459e-e5e0-4bd8-b118-0985e68a4ec5",
    "build": "965220d5-5bb9-42cf-8d67-9b146df2a5a4",
    "distributedtask": "a85b8835-c1a1-4aac-ae97-1c3d0ba72dbd",
    "pipelinesChecks": "4a933897-0488-45af-bd82-6fd3ad33f46a",
    "policy": "fb13a388-40dd-4a04-b530-013a739c72ef",
    "IMS": "8a3d49b8-91f0-46ef-b33d-dda338c25db3",
    "Graph": "bb1e7ec9-e901-4b68-999a-de7012b920f8",
    "serviceendpoint": "1814ab31-2f4f-4a9f-8761-f4d77dc5a5d7",
}


class AzureDevOpsBase(Emulator):
    """Location discovery, auth, projects, identities. Areas add :class:`Location` rows."""

    def __init__(
        self,
        *,
        organization: str = "contoso",
        token: str | None = "emulator-pat",
        latency: float = 0.0,
        faults: Faults | None = None,
    ) -> None:
        super().__init__(token=token, latency=latency, faults=faults)
        self.organization = organization
        self.instance_id = new_id()
        self.locations: list[Location] = []
        self.projects: dict[str, dict[str, Any]] = {}  # id -> project
        #: identities by id: {id, descriptor, providerDisplayName, customDisplayName, properties}
        self.identities: dict[str, dict[str, Any]] = {}
        #: (method, path regex) -> (status, WrappedException typeKey, message): refused requests
        self.denials: list[tuple[str | None, re.Pattern, int, str, str]] = []
        self._ids = itertools.count(1)
        user = self.add_identity("Emulator User", descriptor="Microsoft.IdentityModel.Claims.ClaimsIdentity;emulator@example.invalid")
        self.user = user
        #: who the token belongs to, as ``GET _apis/connectionData`` answers (authenticatedUser); a test
        #: sets another identity (a build service) or None (no user in the answer)
        self.token_user: dict[str, Any] | None = user
        self.route("OPTIONS", "/{org}/_apis", self._options)
        self.route("OPTIONS", "/{org}/_apis/{area}", self._options)
        self._install_base_locations()

    # ------------------------------------------------------------ plumbing
    def fault_response(self, status: int, headers: dict[str, str]) -> Response:
        """Throttling and outages come from the service's front end as plain text, not a WrappedException."""
        text = {429: b"Too Many Requests", 500: b"Internal Server Error"}.get(status, b"Service Unavailable")
        return Response(status, text, {"Content-Type": "text/plain", **headers})

    @property
    def org_url(self) -> str:
        """What a client uses as organization URL: ``http://127.0.0.1:PORT/<org>``."""
        return f"{self.url}/{self.organization}"

    def add_location(self, loc: Location, **handlers: Callable[[Request], Any]) -> Location:
        loc.handlers.update({m.upper(): h for m, h in handlers.items()})
        self.locations.append(loc)
        for method, handler in loc.handlers.items():
            self._routes.append((method, loc.regex("/" + self.organization), self._wrap(loc, handler)))
        # most specific templates first, so `workitems/$Bug` wins over `workitems/{id}`
        self._routes.sort(key=lambda r: -getattr(r[2], "specificity", 1000))
        return loc

    def _wrap(self, loc: Location, handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        def call(req: Request) -> Any:
            req.params = {k: unquote(v) for k, v in req.params.items() if v is not None}
            for method, rx, status, type_key, message in self.denials:
                if (method is None or method == req.method) and rx.search(req.path):
                    raise self.error(status, message, type_key)
            return handler(req)

        call.specificity = loc.specificity()  # type: ignore[attr-defined]
        return call

    def next_id(self) -> int:
        return next(self._ids)

    @staticmethod
    def error(status: int, message: str, type_key: str = "VssServiceException") -> HttpError:
        """An error answered the way Azure DevOps does: a WrappedException body."""
        return HttpError(
            status,
            {
                "$id": "1",
                "innerException": None,
                "message": message,
                "typeName": f"Microsoft.TeamFoundation.{type_key}, Microsoft.TeamFoundation.Server.Core",
                "typeKey": type_key,
                "errorCode": 0,
                "eventId": 3000,
            },
        )

    def deny(self, path_pattern: str, *, method: str | None = None, status: int = 403,
             message: str | None = None, type_key: str = "UnauthorizedRequestException") -> None:
        """Refuse matching requests (a token without that right). ``message`` defaults to TF400813."""
        text = message or f"TF400813: The user '{self.user['id']}' is not authorized to access this resource."
        self.denials.append((method, re.compile(path_pattern, re.IGNORECASE), status, type_key, text))

    def unauthorized(self, req: Request) -> Response:
        # what Azure DevOps answers with X-TFS-FedAuthRedirect: Suppress and a bad PAT
        return Response(401, b"Unauthorized", {"Content-Type": "text/plain; charset=utf-8"})

    def not_found(self, req: Request) -> Response:
        return Response(404, self.error(404, f"The controller for path '{req.path}' was not found or does not implement IController.",
                                        "HttpException").body)

    def _options(self, req: Request) -> Any:
        if req.params.get("org", "").lower() != self.organization.lower():
            raise self.error(404, f"TF400898: organization {req.params.get('org')!r} does not exist", "HostNotFoundException")
        area = req.params.get("area")
        locs = [l.as_json() for l in self.locations if area is None or l.area.lower() == area.lower()]
        return {"count": len(locs), "value": locs}

    @staticmethod
    def collection(items: list[Any]) -> dict[str, Any]:
        return {"count": len(items), "value": items}

    # ------------------------------------------------------------ identities
    def add_identity(self, display_name: str, *, descriptor: str | None = None, account: str | None = None) -> dict[str, Any]:
        ident_id = new_id()
        ident = {
            "id": ident_id,
            "descriptor": descriptor or f"Microsoft.TeamFoundation.Identity;S-1-9-{ident_id}",
            "subjectDescriptor": f"aad.{ident_id}",
            "providerDisplayName": display_name,
            "customDisplayName": None,
            "isActive": True,
            "isContainer": False,
            "members": [],
            "memberOf": [],
            "metaTypeId": 0,
            "properties": {"Account": {"$type": "System.String", "$value": account or display_name}},
            "resourceVersion": 2,
        }
        self.identities[ident_id] = ident
        return ident

    def identity_ref(self, ident: dict[str, Any] | None = None) -> dict[str, Any]:
        ident = ident or self.user
        return {"id": ident["id"], "displayName": ident["providerDisplayName"], "uniqueName": ident["properties"]["Account"]["$value"],
                "descriptor": ident["subjectDescriptor"], "url": f"{self.org_url}/_apis/Identities/{ident['id']}"}

    def find_identity(self, name: str) -> dict[str, Any] | None:
        for ident in self.identities.values():
            if name.lower() in (ident["providerDisplayName"].lower(), str(ident["properties"]["Account"]["$value"]).lower()):
                return ident
        return None

    # ------------------------------------------------------------ projects
    def add_project(self, name: str, *, description: str = "") -> dict[str, Any]:
        pid = new_id()
        project = {
            "id": pid,
            "name": name,
            "description": description,
            "url": f"{self.org_url}/_apis/projects/{pid}",
            "state": "wellFormed",
            "revision": self.next_id(),
            "visibility": "private",
            "lastUpdateTime": now(),
        }
        self.projects[pid] = project
        # every project has its build service identity, as Azure DevOps creates it
        self.add_identity(
            f"{name} Build Service ({self.organization})",
            descriptor=f"Microsoft.TeamFoundation.ServiceIdentity;{self.instance_id}:Build:{pid}",
            account=f"Build\\{pid}",
        )
        return project

    def build_service_identity(self, project: str) -> dict[str, Any]:
        proj = self.project(project)
        found = self.find_identity(f"{proj['name']} Build Service ({self.organization})")
        assert found is not None
        return found

    def project(self, key: str | None) -> dict[str, Any]:
        """A project by name or id, else the 404 Azure DevOps answers."""
        if key:
            for project in self.projects.values():
                if key.lower() in (project["id"].lower(), project["name"].lower()):
                    return project
        raise self.error(
            404,
            f"TF200016: The following project does not exist: {key}. Verify that the name of the project is correct "
            "and that the project exists on the specified Azure DevOps Server.",
            "ProjectDoesNotExistWithNameException",
        )

    def project_ref(self, project: dict[str, Any]) -> dict[str, Any]:
        return {k: project[k] for k in ("id", "name", "url", "state", "revision", "visibility", "lastUpdateTime")}

    # ------------------------------------------------------------ base locations
    def _install_base_locations(self) -> None:
        self.add_location(
            Location("e81700f7-3be2-46de-8624-2eb35882fcaa", "Location", "ResourceAreas", "_apis/{resource}/{areaId}"),
            get=self._resource_areas,
        )
        self.add_location(
            Location("00d9565f-ed9c-4a06-9a50-00e7896ccab4", "Location", "ConnectionData", "_apis/{resource}"),
            get=self._connection_data,
        )
        self.add_location(
            Location("603fe2ac-9723-48b9-88ad-09305aa6c6e1", "core", "projects", "_apis/{resource}/{*projectId}",
                     resource_version=4, area_id=AREAS["core"]),
            get=self._get_projects,
        )
        self.add_location(
            Location("28010c54-d0c0-4c89-a5b0-1c9e188b9fb7", "IMS", "Identities", "_apis/{resource}/{identityId}",
                     area_id=AREAS["IMS"]),
            get=self._read_identities,
        )

    def _resource_areas(self, req: Request) -> Any:
        base = self.org_url + "/"
        areas = [{"id": area_id, "name": name, "locationUrl": base} for name, area_id in AREAS.items()]
        return self.collection(areas)

    def _connection_data(self, req: Request) -> Any:
        """``GET _apis/connectionData``: ``authenticatedUser`` / ``authorizedUser`` are the token's identity
        (``token_user``; left out when it is None), plus the instance and location service data."""
        doc: dict[str, Any] = {
            "instanceId": self.instance_id,
            "deploymentId": self.instance_id,
            "deploymentType": "hosted",
            "locationServiceData": {"serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7",
                                    "defaultAccessMappingMoniker": "PublicAccessMapping", "lastChangeId": 1},
        }
        user = self.token_user
        if user is not None:
            ident = {"id": user["id"], "descriptor": user["descriptor"], "subjectDescriptor": user["subjectDescriptor"],
                     "providerDisplayName": user["providerDisplayName"], "isActive": True,
                     "properties": user["properties"]}
            doc["authenticatedUser"] = doc["authorizedUser"] = ident
        return doc

    def _get_projects(self, req: Request) -> Any:
        key = req.params.get("projectId")
        if key:
            project = dict(self.project(key))
            project["defaultTeam"] = {"id": project["id"], "name": f"{project['name']} Team"}
            return project
        return self.collection([self.project_ref(p) for p in self.projects.values()])

    def _read_identities(self, req: Request) -> Any:
        if req.arg("searchFilter") and req.arg("filterValue"):
            found = self.find_identity(req.arg("filterValue") or "")
            return self.collection([found] if found else [])
        ids = (req.arg("identityIds") or "").split(",")
        descriptors = (req.arg("descriptors") or "").split(",")
        out = [i for i in self.identities.values() if i["id"] in ids or i["descriptor"] in descriptors]
        return self.collection(out)
