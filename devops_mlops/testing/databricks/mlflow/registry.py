"""The two model registries of the MLflow emulator.

Workspace registry (``/api/2.0/mlflow/registered-models/*``, ``/model-versions/*``): a version is
READY at once; its files are copied from its source (a run or logged-model artifact location,
``runs:/`` or ``models:/name/version``) to ``/registry/<name>/<version>``; stages (None, Staging,
Production, Archived) with ``archive_existing_versions``; tags; aliases (served, though mlflow's
workspace-registry client refuses aliases itself, before sending anything).

Unity Catalog (``/api/2.0/mlflow/unity-catalog/*``): names are ``catalog.schema.model``; a version is
created PENDING_REGISTRATION, its files are written under ``/Models/<catalog>/<schema>/<model>/
<version>`` (the Files API or presigned URLs, see :mod:`.artifacts`) and
``finalize`` makes it READY after reading its ``MLmodel``: without a signature holding inputs and
outputs it fails (INVALID_PARAMETER_VALUE, the version turns FAILED_REGISTRATION). Files of a version
can only be written while it is pending. There are no stages. ``deny("catalog.schema")`` makes
every write to models there answer 403 PERMISSION_DENIED (a missing grant).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .common import err, join
from .registry_handlers import RegistryHandlers

SIGNATURE_HELP = ("All models in the Unity Catalog must be logged with a model signature containing both input "
                  "and output type specifications.")


class RegistryRoutes:
    """Mixin of :class:`~devops_mlops.testing.databricks.mlflow.MlflowStore`: both registries."""

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
            h = RegistryHandlers(self, uc)
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
        h = RegistryHandlers(self, True)
        r("POST", f"{u}/model-versions/finalize", h.finalize)
        r("POST", f"{u}/model-versions/generate-temporary-credentials", h.temporary_credentials)
        r("POST", f"{u}/model-versions/emit-lineage", h.emit_lineage)
        r("GET", f"{u}/registered-models:is-databricks-sdk-models-artifact-repository-enabled",
          lambda q: {"is_databricks_sdk_models_artifact_repository_enabled": self.uc_files_api})
        w = RegistryHandlers(self, False)
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
        RegistryHandlers(self, False).version(name, version)
        return f"/registry/{name}/{version}"

    def _uc_version_for_files(self, name: str, version: str, write: bool) -> dict:
        h = RegistryHandlers(self, True)
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

    # ------------------------------------------------------------ signatures (UC finalize)
    @staticmethod
    def signature_problem(mlmodel: bytes | None) -> str | None:
        """What is wrong with the signature of an MLmodel file, as the service words it (None: nothing)."""
        if mlmodel is None:
            return "Model version files contain no MLmodel file: register an MLflow model."
        try:
            meta = yaml.safe_load(mlmodel)
        except yaml.YAMLError:
            meta = None
        if not isinstance(meta, dict):
            return "The MLmodel file of the model version cannot be read."
        signature = meta.get("signature") or {}
        if not signature.get("inputs"):
            return f"Model passed for registration did not contain any signature metadata. {SIGNATURE_HELP}"
        if not signature.get("outputs"):
            return f"Model passed for registration contained a signature that includes only inputs. {SIGNATURE_HELP}"
        return None

    def signature_check(self, mlmodel: bytes | None) -> str | None:
        """Why a Unity Catalog version with this MLmodel is refused at finalize (None: it is not)."""
        return self.signature_problem(mlmodel) if self.require_signature else None
