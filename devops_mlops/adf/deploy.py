"""``mlops adf deploy``: create or update the exported resources in a factory.

Through the real ``DataFactoryManagementClient`` (its routes, api-version 2018-06-01,
retry and ARM authentication policies) with an ``azure-identity`` credential. The
bodies are the exported JSON itself, passed to ``create_or_update`` as bytes (the
operations' ``IO[bytes]`` overload sends them as they are), and the current state is
read back as raw JSON through the operations' ``cls`` hook: azure-mgmt-datafactory
10.0.0's models would write ``Execution`` / ``Container`` / ``MultiplePipelineTrigger``
for the real type names, drop the linked service's ``type``, and read correct JSON
back into bare base classes.

Idempotent: each resource is read first and written only when what we generate is
not already there (compared key by key; keys the service adds are ignored). Order:
linked services, pipelines (a pipeline after those it executes), triggers; a started
trigger is stopped before its update and started again after; deploy leaves every
trigger it manages started. ``ctx.dry_run``: reads only, returns the plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError, InputError, ServiceError
from ..files.jobs import committed_files
from .arm import READ_ONLY
from .export import build_export
from .resources import Export
from .validate import pipeline_order, validate, walk

OPS = {"linkedService": "linked_services", "pipeline": "pipelines", "trigger": "triggers"}


@dataclass
class Change:
    kind: str
    name: str
    action: str  # create | update | unchanged
    diff: list[str] = field(default_factory=list)
    trigger: list[str] = field(default_factory=list)  # stop / start done around it

    def doc(self) -> dict:
        return {"kind": self.kind, "name": self.name, "action": self.action, "diff": self.diff,
                "trigger": self.trigger}


@dataclass
class DeployResult:
    factory: str
    dry_run: bool
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return sum(1 for c in self.changes if c.action != "unchanged") + sum(len(c.trigger) for c in self.changes)

    def doc(self) -> dict:
        return {"factory": self.factory, "dry_run": self.dry_run, "writes": self.writes,
                "changes": [c.doc() for c in self.changes], "warnings": self.warnings}

    def lines(self):
        verb = "would" if self.dry_run else "did"
        for c in self.changes:
            extra = f" ({', '.join(c.diff[:5])}{', ...' if len(c.diff) > 5 else ''})" if c.diff else ""
            trig = f" [{verb} {' + '.join(c.trigger)} trigger]" if c.trigger else ""
            yield f"{c.action:9} {c.kind}/{c.name}{extra}{trig}"
        n = sum(1 for c in self.changes if c.action != "unchanged")
        yield (f"factory {self.factory}: {n} to change, {len(self.changes) - n} unchanged (dry run: nothing changed)"
               if self.dry_run else f"factory {self.factory}: {n} changed, {len(self.changes) - n} unchanged")
        for w in self.warnings:
            yield f"warning: {w}"


# ------------------------------------------------------------------ comparison
def differences(want: Any, have: Any, path: str = "") -> list[str]:
    """Key paths where ``have`` does not hold what ``want`` says (keys only in ``have`` are ignored)."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return [path or "."]
        out = []
        for k, v in want.items():
            out += differences(v, have.get(k, _MISSING), f"{path}.{k}" if path else k)
        return out
    if isinstance(want, list):
        if not isinstance(have, list) or len(want) != len(have):
            return [path or "."]
        out = []
        for i, (a, b) in enumerate(zip(want, have)):
            out += differences(a, b, f"{path}[{i}]")
        return out
    same = want == have and isinstance(want, bool) == isinstance(have, bool)
    return [] if same else [path or "."]


class _Missing:
    pass


_MISSING = _Missing()


def body(kind: str, doc: dict) -> dict:
    props = json.loads(json.dumps(doc["properties"]))
    for key in READ_ONLY.get(kind, ()):
        props.pop(key, None)
    return {"properties": props}


# ------------------------------------------------------------------ client
def default_credential():
    """azure-identity's chain: environment (service principal / workload identity), managed identity, Azure CLI ..."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(exclude_interactive_browser_credential=True)


def _raw(pipeline_response, deserialized, headers):
    return pipeline_response.http_response.json()


class Factory:
    """The calls deploy makes, on the real client; vendor errors become ServiceError."""

    def __init__(self, adf, credential=None, **client_kwargs: Any):
        from azure.mgmt.datafactory import DataFactoryManagementClient

        self.rg = adf.resource_group
        self.name = adf.factory
        self.call_kwargs: dict[str, Any] = {}
        endpoint = adf.arm_endpoint
        if endpoint:
            parts = urlsplit(endpoint)
            if parts.scheme == "http":
                if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
                    raise ConfigError("adf.arm_endpoint: http:// is allowed for a loopback emulator only")
                self.call_kwargs["enforce_https"] = False  # bearer tokens over http: loopback tests only
            client_kwargs["base_url"] = endpoint
        self.client = DataFactoryManagementClient(credential or default_credential(), adf.subscription_id,
                                                  **client_kwargs)

    def _call(self, what: str, fn, *args, missing_ok: bool = False, **kwargs):
        from azure.core.exceptions import (ClientAuthenticationError, HttpResponseError, ResourceNotFoundError,
                                           ServiceRequestError)

        try:
            return fn(self.rg, self.name, *args, **kwargs, **self.call_kwargs)
        except ResourceNotFoundError as exc:
            if missing_ok and "ResourceNotFound" not in _msg(exc):  # the resource, not the factory, is missing
                return None
            raise ServiceError(f"{what}: 404 {_msg(exc)}",
                               hint="check adf.subscription_id, adf.resource_group and adf.factory") from None
        except ClientAuthenticationError as exc:
            raise ServiceError(f"{what}: Azure authentication failed: {_msg(exc)}",
                               hint="sign in (az login), or give AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, "
                                    "or run where a managed identity is available") from None
        except HttpResponseError as exc:
            hint = None
            if exc.status_code == 403:
                hint = "grant the deploying identity the Data Factory Contributor role on the factory"
            elif exc.status_code == 404:
                hint = "check adf.subscription_id, adf.resource_group and adf.factory"
            raise ServiceError(f"{what}: {exc.status_code} {_msg(exc)}", hint=hint) from None
        except ServiceRequestError as exc:
            raise ServiceError(f"{what}: cannot reach Azure Resource Manager: {_msg(exc)}") from None
        except Exception as exc:  # credential chains raise their own types
            if type(exc).__name__ == "CredentialUnavailableError":
                raise ServiceError(f"{what}: no Azure credentials: {_msg(exc)}",
                                   hint="az login, AZURE_* service principal variables, or a managed identity") from None
            raise

    def get(self, kind: str, name: str) -> dict | None:
        ops = getattr(self.client, OPS[kind])
        return self._call(f"GET {kind}/{name}", ops.get, name, cls=_raw, missing_ok=True)

    def put(self, kind: str, name: str, doc: dict) -> dict:
        ops = getattr(self.client, OPS[kind])
        data = json.dumps(body(kind, doc)).encode()
        return self._call(f"PUT {kind}/{name}", ops.create_or_update, name, data,
                          content_type="application/json", cls=_raw)

    def trigger(self, action: str, name: str) -> None:
        fn = self.client.triggers.begin_start if action == "start" else self.client.triggers.begin_stop
        poller = self._call(f"{action} trigger/{name}", fn, name)
        self._call(f"{action} trigger/{name}", lambda rg, f, **kw: poller.result())  # errors mapped alike


def _msg(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return " ".join(str(text).split())[:400]


# ------------------------------------------------------------------ use case
def check_target(config, target) -> None:
    adf = target.adf
    missing = [k for k in ("subscription_id", "resource_group", "factory") if not getattr(adf, k)]
    if missing:
        raise ConfigError(f"targets.{target.name}.adf: missing {', '.join(missing)} (the factory to deploy to)",
                          path=config.path)


def deploy(ctx, *, credential=None, monitoring: bool = True, exp: Export | None = None,
           client_kwargs: dict | None = None) -> DeployResult:
    config, target = ctx.config, ctx.target
    check_target(config, target)
    exp = exp or build_export(config, target, monitoring=monitoring, tracked=committed_files(config, target, ctx.git))
    problems = validate(exp.resources, external_linked_services=exp.external_linked_services)
    if problems:
        raise InputError("the generated Data Factory JSON breaks a rule: " + "; ".join(map(str, problems[:5])))
    # deploy is live: secrets kept out of the files go in as the parameters' defaults
    for (pname, param), value in exp.secret_parameters.items():
        exp.resources["pipeline"][pname]["properties"]["parameters"][param]["defaultValue"] = value
    factory = Factory(target.adf, credential, **(client_kwargs or {}))
    result = DeployResult(target.adf.factory, ctx.dry_run, warnings=list(exp.warnings))
    calls = {n: {a["typeProperties"]["pipeline"]["referenceName"]
                 for _, a, _ in walk(d["properties"]["activities"]) if a.get("type") == "ExecutePipeline"}
             for n, d in exp.resources["pipeline"].items()}
    order = [("linkedService", n) for n in exp.resources["linkedService"]]
    order += [("pipeline", n) for n in pipeline_order(calls)]
    order += [("trigger", n) for n in exp.resources["trigger"]]
    for ext in sorted(exp.external_linked_services):
        if factory.get("linkedService", ext) is None:
            raise ServiceError(f"linked service {ext!r} (adf.key_vault_linked_service) does not exist in factory "
                               f"{target.adf.factory!r}", hint="create the Azure Key Vault linked service first")
    planned: list[tuple[Change, dict | None]] = []
    for kind, name in order:
        doc = exp.resources[kind][name]
        have = factory.get(kind, name)
        if have is None:
            change = Change(kind, name, "create")
        else:
            diff = differences(body(kind, doc)["properties"], have.get("properties") or {})
            change = Change(kind, name, "update" if diff else "unchanged", diff)
        if kind == "trigger":
            state = (have or {}).get("properties", {}).get("runtimeState")
            if change.action == "update" and state == "Started":
                change.trigger = ["stop", "start"]
            elif state != "Started":
                change.trigger = ["start"]
        planned.append((change, have))
        result.changes.append(change)
    if ctx.dry_run:
        return result
    for change, _ in planned:
        if "stop" in change.trigger:
            factory.trigger("stop", change.name)
        if change.action != "unchanged":
            ctx.console.progress(f"{change.action} {change.kind}/{change.name}")
            factory.put(change.kind, change.name, exp.resources[change.kind][change.name])
        if "start" in change.trigger:
            factory.trigger("start", change.name)
    return result
