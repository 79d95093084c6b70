"""A loopback emulator of the Azure Resource Manager Data Factory endpoints (api-version 2018-06-01).

Stateful: factories hold pipelines, linked services and triggers.
``PUT/GET/DELETE .../providers/Microsoft.DataFactory/factories/{f}/{pipelines|linkedservices|triggers}/{name}``,
``GET`` of the collections and of the factory, ``POST .../triggers/{t}/start`` and ``/stop``.
Like the service it rejects a wrong api-version, a body whose types are the SDK's base
class names (``Execution``, ``Container``, ``MultiplePipelineTrigger``) or a linked
service without a type, references to pipelines or linked services that do not exist,
and a PUT on a started trigger (``TriggerEnabledCannotUpdate``). Names are case-insensitive.

Use it with the real ``DataFactoryManagementClient``::

    with ArmDataFactoryEmulator() as arm:
        arm.add_factory(SUB, "rg", "adf")
        client = DataFactoryManagementClient(arm.credential(), SUB, base_url=arm.url)
        client.pipelines.get("rg", "adf", "p", enforce_https=False)
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from typing import Any

from .http import Emulator, Faults, HttpError, Request, Response

API_VERSION = "2018-06-01"
KINDS = {"pipelines": "pipelines", "linkedservices": "linkedservices", "triggers": "triggers"}
BASE_NAMES = {"Activity", "Execution", "Container", "ControlActivity", "ExecutionActivity", "MultiplePipelineTrigger",
              "Trigger", "LinkedService"}
_PREFIX = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DataFactory/factories/{factory}"


class StaticCredential:
    """An ``azure.core.credentials.TokenCredential`` that returns a fixed token (tests only)."""

    def __init__(self, token: str):
        self.token = token
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any):
        from azure.core.credentials import AccessToken

        self.calls += 1
        return AccessToken(self.token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None):
        from azure.core.credentials import AccessTokenInfo

        self.calls += 1
        return AccessTokenInfo(self.token, int(time.time()) + 3600)


def _error(status: int, code: str, message: str) -> HttpError:
    return HttpError(status, {"error": {"code": code, "message": message}})


class ArmDataFactoryEmulator(Emulator):
    def __init__(self, *, token: str = "arm-test-token", latency: float = 0.0, faults: Faults | None = None):
        super().__init__(token=token, latency=latency, faults=faults)
        #: (sub, rg, factory) lower-cased -> kind -> lower name -> resource document
        self.factories: dict[tuple[str, str, str], dict[str, dict[str, dict]]] = {}
        self._names: dict[tuple[str, str, str], str] = {}
        base = _PREFIX
        self.route("GET", base, self._get_factory)
        for kind in ("pipelines", "linkedservices", "linkedServices", "triggers"):
            self.route("GET", f"{base}/{kind}", self._list)
            self.route("PUT", f"{base}/{kind}/{{name}}", self._put)
            self.route("GET", f"{base}/{kind}/{{name}}", self._get)
            self.route("DELETE", f"{base}/{kind}/{{name}}", self._delete)
        self.route("POST", f"{base}/triggers/{{name}}/start", self._start)
        self.route("POST", f"{base}/triggers/{{name}}/stop", self._stop)

    # ------------------------------------------------------------ setup / helpers
    def credential(self) -> StaticCredential:
        return StaticCredential(self.token or "none")

    def add_factory(self, subscription: str, resource_group: str, name: str) -> None:
        key = (subscription.lower(), resource_group.lower(), name.lower())
        self.factories.setdefault(key, {k: {} for k in KINDS})
        self._names[key] = name

    def seed(self, factory: str, kind: str, name: str, properties: dict) -> None:
        """Put a resource straight into the state (e.g. the Key Vault linked service that already exists)."""
        key = next(k for k in self.factories if k[2] == factory.lower())
        self.factories[key][kind][name.lower()] = {
            "id": self._id(key, kind, name), "name": name, "type": f"Microsoft.DataFactory/factories/{kind}",
            "etag": "seed", "properties": copy.deepcopy(properties)}

    def factory(self, name: str) -> dict[str, dict[str, dict]]:
        for key, store in self.factories.items():
            if key[2] == name.lower():
                return store
        raise KeyError(name)

    def pipelines(self, factory: str) -> dict[str, dict]:
        return {d["name"]: d for d in self.factory(factory)["pipelines"].values()}

    def linked_services(self, factory: str) -> dict[str, dict]:
        return {d["name"]: d for d in self.factory(factory)["linkedservices"].values()}

    def triggers(self, factory: str) -> dict[str, dict]:
        return {d["name"]: d for d in self.factory(factory)["triggers"].values()}

    def trigger_state(self, factory: str, name: str) -> str:
        return self.factory(factory)["triggers"][name.lower()]["properties"]["runtimeState"]

    # ------------------------------------------------------------ handlers
    def unauthorized(self, req: Request) -> Response:
        return Response(401, {"error": {"code": "AuthenticationFailed",
                                        "message": "Authentication failed. The 'Authorization' header is missing or invalid."}})

    def not_found(self, req: Request) -> Response:
        return Response(404, {"error": {"code": "NotFound", "message": f"No route for {req.method} {req.path}"}})

    def _store(self, req: Request) -> tuple[tuple[str, str, str], dict]:
        if req.arg("api-version") != API_VERSION:
            raise _error(400, "InvalidApiVersionParameter",
                         f"The api-version '{req.arg('api-version')}' is invalid. The supported versions are '{API_VERSION}'.")
        p = req.params
        key = (p["sub"].lower(), p["rg"].lower(), p["factory"].lower())
        if key not in self.factories:
            raise _error(404, "ResourceNotFound",
                         f"The Resource 'Microsoft.DataFactory/factories/{p['factory']}' under resource group "
                         f"'{p['rg']}' was not found.")
        return key, self.factories[key]

    @staticmethod
    def _kind(req: Request) -> str:
        parts = req.path.split("/")
        return parts[9].lower() if len(parts) > 9 else ""

    def _id(self, key, kind: str, name: str) -> str:
        sub, rg, _ = key
        return (f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DataFactory/factories/"
                f"{self._names[key]}/{kind}/{name}")

    def _get_factory(self, req: Request) -> Any:
        key, _ = self._store(req)
        return {"id": self._id(key, "", "").rstrip("/").rsplit("/", 1)[0], "name": self._names[key],
                "type": "Microsoft.DataFactory/factories", "location": "westeurope", "properties": {}}

    def _list(self, req: Request) -> Any:
        _, store = self._store(req)
        return {"value": [copy.deepcopy(d) for d in store[self._kind(req)].values()]}

    def _get(self, req: Request) -> Any:
        _, store = self._store(req)
        doc = store[self._kind(req)].get(req.params["name"].lower())
        if doc is None:
            raise _error(404, "NotFound", f"Entity {req.params['name']} not found")
        return copy.deepcopy(doc)

    def _delete(self, req: Request) -> Any:
        _, store = self._store(req)
        kind = self._kind(req)
        if kind == "triggers":
            doc = store[kind].get(req.params["name"].lower())
            if doc and doc["properties"].get("runtimeState") == "Started":
                raise _error(400, "TriggerEnabledCannotUpdate", "Cannot delete enabled Trigger; it needs to be stopped")
        if store[kind].pop(req.params["name"].lower(), None) is None:
            return Response(204, b"")
        return Response(200, {})

    def _put(self, req: Request) -> Any:
        key, store = self._store(req)
        kind = self._kind(req)
        name = req.params["name"]
        body = req.json
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            raise _error(400, "BadRequest", "The request body must be a resource with properties")
        props = copy.deepcopy(body["properties"])
        if kind == "pipelines":
            self._check_pipeline(store, name, props)
        elif kind == "linkedservices":
            ltype = props.get("type")
            if not ltype or ltype in BASE_NAMES:
                raise _error(400, "BadRequest", f"The linked service type '{ltype}' is not supported")
            for ref in _refs(props, "LinkedServiceReference"):
                if ref.lower() not in store["linkedservices"]:
                    raise _error(400, "BadRequest", f"The document creation or update failed because of invalid reference '{ref}'.")
        elif kind == "triggers":
            old = store["triggers"].get(name.lower())
            if old and old["properties"].get("runtimeState") == "Started":
                raise _error(400, "TriggerEnabledCannotUpdate", "Cannot update enabled Trigger; it needs to be stopped")
            ttype = props.get("type")
            if not ttype or ttype in BASE_NAMES:
                raise _error(400, "BadRequest", f"The trigger type '{ttype}' is not supported")
            for ref in _refs(props, "PipelineReference"):
                if ref.lower() not in store["pipelines"]:
                    raise _error(400, "BadRequest", f"The document creation or update failed because of invalid reference '{ref}'.")
            props["runtimeState"] = "Stopped"  # read-only: a PUT never starts a trigger
        etag = hashlib.sha1(json.dumps(props, sort_keys=True).encode()).hexdigest()[:16]
        doc = {"id": self._id(key, kind, name), "name": name, "type": f"Microsoft.DataFactory/factories/{kind}",
               "etag": etag, "properties": props}
        store[kind][name.lower()] = doc
        return copy.deepcopy(doc)

    def _check_pipeline(self, store: dict, name: str, props: dict) -> None:
        def check(acts: list):
            for act in acts or []:
                atype = act.get("type")
                if not atype or atype in BASE_NAMES:
                    raise _error(400, "BadRequest", f"Activity '{act.get('name')}' has an invalid type '{atype}'")
                tp = act.get("typeProperties") or {}
                for k in ("activities", "ifTrueActivities", "ifFalseActivities", "defaultActivities"):
                    check(tp.get(k))
                for case in tp.get("cases") or []:
                    check(case.get("activities"))

        check(props.get("activities"))
        for ref in _refs(props, "LinkedServiceReference"):
            if ref.lower() not in store["linkedservices"]:
                raise _error(400, "BadRequest", f"The document creation or update failed because of invalid reference '{ref}'.")
        for ref in _refs(props, "PipelineReference"):
            if ref.lower() not in store["pipelines"] and ref.lower() != name.lower():
                raise _error(400, "BadRequest", f"The document creation or update failed because of invalid reference '{ref}'.")

    def _trigger(self, req: Request) -> dict:
        _, store = self._store(req)
        doc = store["triggers"].get(req.params["name"].lower())
        if doc is None:
            raise _error(404, "NotFound", f"Entity {req.params['name']} not found")
        return doc

    def _start(self, req: Request) -> Any:
        doc = self._trigger(req)
        doc["properties"]["runtimeState"] = "Started"
        return Response(200, b"", {"Content-Type": "application/json"})

    def _stop(self, req: Request) -> Any:
        doc = self._trigger(req)
        doc["properties"]["runtimeState"] = "Stopped"
        return Response(200, b"", {"Content-Type": "application/json"})


def _refs(obj: Any, ref_type: str) -> list[str]:
    out: list[str] = []
    if isinstance(obj, dict):
        if obj.get("type") == ref_type and "referenceName" in obj:
            out.append(obj["referenceName"])
        for v in obj.values():
            out += _refs(v, ref_type)
    elif isinstance(obj, list):
        for v in obj:
            out += _refs(v, ref_type)
    return out
