"""The two model registries of the MLflow emulator.

Workspace registry (``/api/2.0/mlflow/registered-models/*``, ``/model-versions/*``): a version is
READY at once; its files are copied from its source (a run or logged-model artifact location,
``runs:/`` or ``models:/name/version``) to ``/registry/<name>/<version>``; stages (None, Staging,
Production, Archived) with ``archive_existing_versions``; tags; aliases (served, though mlflow's
workspace-registry client refuses aliases itself, before sending anything).

Unity Catalog (``/api/2.0/mlflow/unity-catalog/*``): names are ``catalog.schema.model``; a version is
created PENDING_REGISTRATION, its files are written under ``/Models/<catalog>/<schema>/<model>/
<version>`` (the Files API or presigned URLs, see :mod:`.databricks_mlflow_artifacts`) and
``finalize`` makes it READY after reading its ``MLmodel``: without a signature holding inputs and
outputs it fails (INVALID_PARAMETER_VALUE, the version turns FAILED_REGISTRATION). Files of a version
can only be written while it is pending. There are no stages. ``deny("catalog.schema")`` makes
every write to models there answer 403 PERMISSION_DENIED (a missing grant).
"""

from __future__ import annotations

import re
from typing import Any

from .databricks_mlflow_artifacts import arg, arg_list, bad, err, join, missing, need
from .http import Request

STAGES = {"none": "None", "staging": "Staging", "production": "Production", "archived": "Archived"}
SIGNATURE_HELP = ("All models in the Unity Catalog must be logged with a model signature containing both input "
                  "and output type specifications.")
def _page(items: list, q: Request, key: str, default_max: int = 100) -> dict:
    start = int(arg(q, "page_token") or 0)
    size = int(arg(q, "max_results") or default_max)
    out: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        out["next_page_token"] = str(start + size)
    return out


def _tags(pairs: list | None) -> dict[str, str]:
    return {t["key"]: t.get("value", "") for t in pairs or []}


class RegistryRoutes:
    """Mixin of :class:`~devops_mlops.testing.databricks_mlflow.MlflowStore`: both registries."""

    emu: Any
    artifacts: dict[str, bytes]
    #: the answer of ``is-databricks-sdk-models-artifact-repository-enabled``: True -> mlflow writes UC
    #: files through the Files API (``/api/2.0/fs/files/Models/...``), False -> presigned URLs
    uc_files_api: bool = True
    #: refuse a UC version whose MLmodel has no signature with inputs and outputs
    require_signature: bool = True
    #: refuse a UC version whose source is another registered version (a copy): how the service
    #: answers a copy it cannot make (mlflow#22012: a source without a logged model id)
    refuse_copies: bool = False

    def _registry_routes(self) -> None:
        #: name -> {"name", "creation_timestamp", ..., "tags": {}, "aliases": {alias: version}, "versions": {}}
        self.ws_models: dict[str, dict] = {}
        self.uc_models: dict[str, dict] = {}
        self.denied: list[str] = []
        self.lineage: list[dict] = []
        r = self.emu.route
        for prefix, uc in (("/api/2.0/mlflow/unity-catalog", True), ("/api/2.0/mlflow", False)):
            m, v = f"{prefix}/registered-models", f"{prefix}/model-versions"
            h = _Handlers(self, uc)
            for method, path, handler in (
                ("POST", f"{m}/create", h.create_model), ("GET", f"{m}/get", h.get_model),
                ("GET", f"{m}/search", h.search_models), ("PATCH", f"{m}/update", h.update_model),
                ("DELETE", f"{m}/delete", h.delete_model), ("POST", f"{m}/alias", h.set_alias),
                ("DELETE", f"{m}/alias", h.delete_alias), ("GET", f"{m}/alias", h.get_by_alias),
                ("POST", f"{v}/create", h.create_version), ("GET", f"{v}/get", h.get_version),
                ("GET", f"{v}/search", h.search_versions), ("PATCH", f"{v}/update", h.update_version),
                ("DELETE", f"{v}/delete", h.delete_version), ("GET", f"{v}/get-download-uri", h.download_uri),
                ("POST", f"{v}/transition-stage", h.transition),
            ):
                r(method, path, handler)
            for path, on_version in ((m, False), (v, True)):
                r("POST", f"{path}/set-tag", lambda q, h=h, o=on_version: h.tag(q, on_version=o, remove=False))
                r("DELETE", f"{path}/delete-tag", lambda q, h=h, o=on_version: h.tag(q, on_version=o, remove=True))
        u = "/api/2.0/mlflow/unity-catalog"
        h = _Handlers(self, True)
        r("POST", f"{u}/model-versions/finalize", h.finalize)
        r("POST", f"{u}/model-versions/generate-temporary-credentials", h.temporary_credentials)
        r("POST", f"{u}/model-versions/emit-lineage", h.emit_lineage)
        r("GET", f"{u}/registered-models:is-databricks-sdk-models-artifact-repository-enabled",
          lambda q: {"is_databricks_sdk_models_artifact_repository_enabled": self.uc_files_api})
        w = _Handlers(self, False)
        r("POST", "/api/2.0/mlflow/registered-models/rename", w.rename_model)
        r("POST", "/api/2.0/mlflow/registered-models/get-latest-versions", w.latest_versions)

    # ------------------------------------------------------------ helpers for tests
    def deny(self, prefix: str) -> None:
        """Writes to Unity Catalog models under ``catalog.schema`` (or ``catalog``) answer 403."""
        self.denied.append(prefix.rstrip("."))

    def registered_model_tags(self, name: str) -> dict[str, str]:
        """The tags of the registered model ``name`` (either registry)."""
        with self.emu.lock:
            model = self.uc_models.get(name) or self.ws_models.get(name) or {}
            return dict(model.get("tags") or {})

    @property
    def models(self) -> dict[str, list[dict[str, Any]]]:
        """Both registries: model name -> its versions ``{version, status, aliases, tags, source,
        run_id, model_id, stage}`` (``stage`` only in the workspace registry)."""
        with self.emu.lock:
            out = {}
            for uc, models in ((False, self.ws_models), (True, self.uc_models)):
                for name, model in models.items():
                    out[name] = [{"version": int(k), "status": v["status"],
                                  "aliases": sorted(a for a, n in model["aliases"].items() if n == k),
                                  "tags": dict(v["tags"]), "source": v.get("source"), "run_id": v.get("run_id"),
                                  "model_id": v.get("model_id"), **({} if uc else {"stage": v["current_stage"]})}
                                 for k, v in sorted(model["versions"].items(), key=lambda kv: int(kv[0]))]
            return out

    # ------------------------------------------------------------ for the artifact mixin
    def _ws_version_root(self, name: str, version: str) -> str:
        _Handlers(self, False).version(name, version)
        return f"/registry/{name}/{version}"

    def _uc_version_for_files(self, name: str, version: str, write: bool) -> dict:
        h = _Handlers(self, True)
        mv = h.version(name, version)
        if write:
            h.check_write(name)
            if mv["status"] != "PENDING_REGISTRATION":
                raise err(403, "PERMISSION_DENIED", f"Model version {name}/{version} is {mv['status']}: "
                          "its files can no longer be written.")
        return mv

    def _source_root(self, source: str) -> str | None:
        """The store key a workspace model version's source points at."""
        if source.startswith("dbfs:/databricks/mlflow-tracking/"):
            return source[len("dbfs:"):].rstrip("/")
        m = re.fullmatch(r"runs:/([^/]+)/?(.*)", source)
        if m and m.group(1) in self.runs:
            return join(self.runs[m.group(1)]["info"]["artifact_uri"][len("dbfs:"):], m.group(2))
        m = re.fullmatch(r"models:/([^/@]+)/(\d+)", source)
        if m and m.group(1) in self.ws_models and m.group(2) in self.ws_models[m.group(1)]["versions"]:
            return f"/registry/{m.group(1)}/{m.group(2)}"
        return None


class _Handlers:
    """The route handlers of one registry (``uc`` or the workspace's)."""

    def __init__(self, store: RegistryRoutes, uc: bool):
        self.s, self.uc = store, uc
        self.models = store.uc_models if uc else store.ws_models

    def now(self) -> int:
        return self.s.emu._now()

    def files_root(self, name: str, version: str = "") -> str:
        root = f"/Models/{name.replace('.', '/')}" if self.uc else f"/registry/{name}"
        return f"{root}/{version}" if version else root

    def move_files(self, old: str, new: str | None) -> None:
        """Files under ``old`` go under ``new`` (None: they are deleted)."""
        for key in [k for k in self.s.artifacts if k.startswith(old + "/")]:
            data = self.s.artifacts.pop(key)
            if new is not None:
                self.s._write(new + key[len(old):], data)

    # ------------------------------------------------------------ lookups and checks
    def check_name(self, name: str) -> None:
        if self.uc and (name.count(".") != 2 or not all(name.split("."))):
            raise bad(f"Invalid name '{name}': a model in Unity Catalog is named <catalog>.<schema>.<model>.")

    def check_write(self, name: str) -> None:
        if self.uc and any(name == p or name.startswith(p + ".") for p in self.s.denied):
            catalog, schema, _ = name.split(".")
            raise err(403, "PERMISSION_DENIED", f"User does not have CREATE MODEL or MODIFY on Schema "
                      f"'{catalog}.{schema}' or Model '{name}'.")

    def model(self, name: str | None) -> dict:
        if not name:
            raise bad("Missing value for required parameter 'name'.")
        self.check_name(name)
        if name not in self.models:
            raise missing(f"Registered model '{name}' does not exist." if not self.uc
                          else f"Routine or Model '{name}' does not exist.")
        return self.models[name]

    def version(self, name: str | None, version: Any) -> dict:
        model = self.model(name)
        mv = model["versions"].get(str(version))
        if mv is None:
            raise missing(f"Model Version (name={name}, version={version}) not found." if not self.uc
                          else f"Model version {name}/{version} does not exist.")
        return mv

    # ------------------------------------------------------------ JSON shapes
    def model_json(self, model: dict, search: bool = False) -> dict:
        out = {k: model[k] for k in ("name", "creation_timestamp", "last_updated_timestamp", "user_id")}
        if model.get("description"):
            out["description"] = model["description"]
        if self.uc and search:
            return out
        out["tags"] = [{"key": k, "value": v} for k, v in model["tags"].items()]
        out["aliases"] = [{"alias": a, "version": v} for a, v in sorted(model["aliases"].items())]
        if not self.uc:
            out["latest_versions"] = self.latest(model, None)
        return out

    def version_json(self, mv: dict, search: bool = False) -> dict:
        out = {k: v for k, v in mv.items() if k != "tags" and v not in (None, "")}
        if self.uc and search:
            return out
        aliases = sorted(a for a, n in self.models[mv["name"]]["aliases"].items() if n == mv["version"])
        out["tags"] = [{"key": k, "value": v} for k, v in mv["tags"].items()]
        out["aliases"] = [{"alias": a, "version": mv["version"]} for a in aliases] if self.uc else aliases
        return out

    def latest(self, model: dict, stages: list[str] | None) -> list[dict]:
        by_stage: dict[str, dict] = {}
        for mv in model["versions"].values():
            if stages and mv["current_stage"].lower() not in {s.lower() for s in stages}:
                continue
            best = by_stage.get(mv["current_stage"])
            if best is None or int(mv["version"]) > int(best["version"]):
                by_stage[mv["current_stage"]] = mv
        return [self.version_json(mv) for mv in sorted(by_stage.values(), key=lambda m: int(m["version"]))]

    # ------------------------------------------------------------ registered models
    def create_model(self, q: Request) -> dict:
        name = need(q, "name")
        self.check_name(name)
        self.check_write(name)
        if name in self.models:
            raise err(400, "RESOURCE_ALREADY_EXISTS", f"Registered Model (name={name}) already exists."
                      if not self.uc else f"Model '{name}' already exists.")
        now = self.now()
        self.models[name] = {"name": name, "creation_timestamp": now, "last_updated_timestamp": now,
                             "user_id": self.s.emu.user, "description": arg(q, "description") or "",
                             "tags": _tags(arg(q, "tags")), "aliases": {}, "versions": {}, "next": 1}
        return {"registered_model": self.model_json(self.models[name])}

    def get_model(self, q: Request) -> dict:
        return {"registered_model": self.model_json(self.model(arg(q, "name")))}

    def matches(self, record: dict, q: Request) -> bool:
        return self.s._matches({"attr": record, "tags": record["tags"]}, arg(q, "filter"))

    def search_models(self, q: Request) -> dict:
        found = [self.model_json(m, search=True) for n, m in sorted(self.models.items()) if self.matches(m, q)]
        return _page(found, q, "registered_models")

    def update_model(self, q: Request) -> dict:
        model = self.model(arg(q, "name"))
        self.check_write(model["name"])
        if arg(q, "new_name"):
            return self._rename(model, arg(q, "new_name"))
        if arg(q, "description") is not None:
            model["description"] = arg(q, "description")
        model["last_updated_timestamp"] = self.now()
        return {"registered_model": self.model_json(model)}

    def rename_model(self, q: Request) -> dict:
        return self._rename(self.model(arg(q, "name")), need(q, "new_name"))

    def _rename(self, model: dict, new_name: str) -> dict:
        self.check_name(new_name)
        if new_name in self.models:
            raise err(400, "RESOURCE_ALREADY_EXISTS", f"Registered Model (name={new_name}) already exists.")
        del self.models[model["name"]]
        self.move_files(self.files_root(model["name"]), self.files_root(new_name))
        model["name"] = new_name
        for mv in model["versions"].values():
            mv["name"] = new_name
        self.models[new_name] = model
        return {"registered_model": self.model_json(model)}

    def delete_model(self, q: Request) -> dict:
        model = self.model(arg(q, "name"))
        self.check_write(model["name"])
        del self.models[model["name"]]
        self.move_files(self.files_root(model["name"]), None)
        return {}

    def tag(self, q: Request, on_version: bool, remove: bool) -> dict:
        """set-tag / delete-tag of a registered model or of a model version."""
        target = self.version(arg(q, "name"), need(q, "version")) if on_version else self.model(arg(q, "name"))
        self.check_write(target["name"])
        if remove:
            target["tags"].pop(need(q, "key"), None)
        else:
            target["tags"][need(q, "key")] = arg(q, "value") or ""
        return {}

    def latest_versions(self, q: Request) -> dict:
        return {"model_versions": self.latest(self.model(arg(q, "name")), arg_list(q, "stages") or None)}

    # ------------------------------------------------------------ aliases
    def set_alias(self, q: Request) -> dict:
        name, alias = arg(q, "name"), need(q, "alias")
        mv = self.version(name, need(q, "version"))
        self.check_write(name)
        if alias.lower() == "latest" or not re.fullmatch(r"[A-Za-z_][\w-]*", alias):
            raise bad(f"Invalid alias '{alias}'.")
        self.models[name]["aliases"][alias] = mv["version"]
        return {}

    def delete_alias(self, q: Request) -> dict:
        model = self.model(arg(q, "name"))
        self.check_write(model["name"])
        model["aliases"].pop(need(q, "alias"), None)
        return {}

    def get_by_alias(self, q: Request) -> dict:
        model, alias = self.model(arg(q, "name")), need(q, "alias")
        if alias not in model["aliases"]:
            raise missing(f"Alias '{alias}' not found for model '{model['name']}'.")
        return {"model_version": self.version_json(model["versions"][model["aliases"][alias]])}

    # ------------------------------------------------------------ model versions
    def create_version(self, q: Request) -> dict:
        name = arg(q, "name")
        model = self.model(name)
        self.check_write(name)
        source = need(q, "source")
        if self.uc and self.s.refuse_copies and source.startswith("models:/"):
            raise bad(f"Cannot copy {source}: the source model version has no logged model.")
        version, now = str(model["next"]), self.now()
        mv = {"name": name, "version": version, "creation_timestamp": now, "last_updated_timestamp": now,
              "user_id": self.s.emu.user, "description": arg(q, "description") or "", "source": source,
              "run_id": arg(q, "run_id") or "", "model_id": arg(q, "model_id") or "",
              "tags": _tags(arg(q, "tags"))}
        if self.uc:
            catalog, schema, short = name.split(".")
            mv.update(status="PENDING_REGISTRATION", run_tracking_server_id=arg(q, "run_tracking_server_id") or "",
                      storage_location=f"s3://uc-emulator/metastore/models/{catalog}/{schema}/{short}/versions/{version}")
        else:
            root = self.s._source_root(source)
            for key, data in list(self.s.artifacts.items()) if root else []:
                if key.startswith(root + "/"):
                    self.s._write(self.files_root(name, version) + key[len(root):], data)
            mv.update(status="READY", current_stage="None", run_link=arg(q, "run_link") or "")
        model["next"] += 1
        model["versions"][version] = mv
        model["last_updated_timestamp"] = now
        return {"model_version": self.version_json(mv)}

    def finalize(self, q: Request) -> dict:
        name, version = arg(q, "name"), need(q, "version")
        mv = self.version(name, version)
        self.check_write(name)
        if mv["status"] == "READY":
            return {"model_version": self.version_json(mv)}
        problem = self.s._signature_check(self.s.artifacts.get(self.files_root(name, version) + "/MLmodel"))
        if problem:
            mv.update(status="FAILED_REGISTRATION", status_message=problem)
            raise bad(problem)
        mv.update(status="READY", last_updated_timestamp=self.now())
        return {"model_version": self.version_json(mv)}

    def get_version(self, q: Request) -> dict:
        return {"model_version": self.version_json(self.version(arg(q, "name"), need(q, "version")))}

    def search_versions(self, q: Request) -> dict:
        found = [self.version_json(mv, search=True)
                 for _, model in sorted(self.models.items())
                 for _, mv in sorted(model["versions"].items(), key=lambda kv: -int(kv[0])) if self.matches(mv, q)]
        return _page(found, q, "model_versions", 10000 if not self.uc else 100)

    def update_version(self, q: Request) -> dict:
        mv = self.version(arg(q, "name"), need(q, "version"))
        self.check_write(mv["name"])
        if arg(q, "description") is not None:
            mv["description"] = arg(q, "description")
        mv["last_updated_timestamp"] = self.now()
        return {"model_version": self.version_json(mv)}

    def delete_version(self, q: Request) -> dict:
        mv = self.version(arg(q, "name"), need(q, "version"))
        self.check_write(mv["name"])
        model = self.models[mv["name"]]
        del model["versions"][mv["version"]]
        self.move_files(self.files_root(mv["name"], mv["version"]), None)
        model["aliases"] = {a: v for a, v in model["aliases"].items() if v != mv["version"]}
        return {}

    def download_uri(self, q: Request) -> dict:
        mv = self.version(arg(q, "name"), need(q, "version"))
        return {"artifact_uri": mv["storage_location"] if self.uc else mv["source"]}

    def transition(self, q: Request) -> dict:
        if self.uc:
            raise bad("Model version stages are not supported in Unity Catalog; use aliases instead.")
        mv = self.version(arg(q, "name"), need(q, "version"))
        stage = STAGES.get(str(need(q, "stage")).lower())
        if stage is None:
            raise bad(f"Invalid Model Version stage: {arg(q, 'stage')}. Value must be one of "
                      "None, Staging, Production, Archived.")
        archive = str(arg(q, "archive_existing_versions") or "").lower() == "true"
        if archive and stage not in ("Staging", "Production"):
            raise bad(f"Model version transition cannot archive existing model versions because '{stage}' "
                      "is not an Active stage. Valid stages are Staging and Production.")
        now = self.now()
        if archive:
            for other in self.models[mv["name"]]["versions"].values():
                if other is not mv and other["current_stage"] == stage:
                    other.update(current_stage="Archived", last_updated_timestamp=now)
        mv.update(current_stage=stage, last_updated_timestamp=now)
        return {"model_version": self.version_json(mv)}

    # ------------------------------------------------------------ Unity Catalog only
    def temporary_credentials(self, q: Request) -> dict:
        name, version = arg(q, "name"), need(q, "version")
        operation = str(arg(q, "operation") or "")
        self.s._uc_version_for_files(name, version, write=operation.endswith("READ_WRITE"))
        expires = (int(self.now() / 1000) + self.s.signed_url_ttl) * 1000
        return {"credentials": {"storage_mode": "DEFAULT_STORAGE", "expiration_time": expires}}

    def emit_lineage(self, q: Request) -> dict:
        self.version(arg(q, "name"), need(q, "version"))
        self.s.lineage.append(dict(q.json or {}))
        return {}
