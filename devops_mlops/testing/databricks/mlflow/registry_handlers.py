"""The route handlers of one model registry of the MLflow emulator (Unity Catalog's or the
workspace's): registered models, versions, aliases, stages, tags, and Unity Catalog's finalize,
temporary credentials and lineage. See :mod:`.registry` for what each registry does."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ...http import Request
from .common import arg, arg_list, bad, err, matches, missing, need, paginate, tag_dict

if TYPE_CHECKING:
    from .registry import RegistryRoutes

STAGES = {"none": "None", "staging": "Staging", "production": "Production", "archived": "Archived"}


class RegistryHandlers:
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
                             "tags": tag_dict(arg(q, "tags")), "aliases": {}, "versions": {}, "next": 1}
        return {"registered_model": self.model_json(self.models[name])}

    def get_model(self, q: Request) -> dict:
        return {"registered_model": self.model_json(self.model(arg(q, "name")))}

    def matches(self, record: dict, q: Request) -> bool:
        return matches({"attr": record, "tags": record["tags"]}, arg(q, "filter"))

    def search_models(self, q: Request) -> dict:
        found = [self.model_json(m, search=True) for n, m in sorted(self.models.items()) if self.matches(m, q)]
        return paginate(found, q, "registered_models")

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
              "tags": tag_dict(arg(q, "tags"))}
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
        problem = self.s.signature_check(self.s.artifacts.get(self.files_root(name, version) + "/MLmodel"))
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
        return paginate(found, q, "model_versions", 10000 if not self.uc else 100)

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
