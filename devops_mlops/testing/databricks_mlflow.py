"""The MLflow REST APIs of a Databricks workspace, in the Databricks emulator (``emu.mlflow``).

The real ``mlflow`` client works against it end to end: tracking URI ``databricks``, registry URI
``databricks`` (workspace registry) or ``databricks-uc`` (Unity Catalog), with ``DATABRICKS_HOST`` =
``emu.url`` and ``DATABRICKS_TOKEN`` = the emulator's token. Shapes after mlflow's protos
(``service.proto``, ``model_registry.proto``, ``databricks_uc_registry_*.proto``,
``databricks_artifacts.proto``, ``databricks_filesystem_service.proto``).

Tracking (``/api/2.0/mlflow``): experiments (create, get, get-by-name, search, update, delete,
restore, set-experiment-tag), runs (create, get, update, search with a filter subset and order_by,
delete, restore, log-batch, log-metric, log-parameter, set-tag, delete-tag, log-inputs, outputs,
log-model), metric history, logged models (create, get, finalize, search, delete, tags, params).
``runs/get`` answers with an ``X-Databricks-Org-Id`` header (``workspace_id``), which mlflow records
as a UC version's ``run_tracking_server_id``.

Artifacts: see :mod:`.databricks_mlflow_artifacts` (signed URLs the emulator serves, the Files API
under ``/WorkspaceInternal/Mlflow/Artifacts`` and ``/Models``). Registries: see
:mod:`.databricks_mlflow_registry`.

Which artifact path mlflow takes (no environment variable is needed):

* Run and logged-model artifacts: mlflow tries the Files API first (``/api/2.0/fs/files/
  WorkspaceInternal/Mlflow/Artifacts/<exp>/Runs|LoggedModels/<id>/...``) and on any error falls back to
  ``credentials-for-write|read`` and signed URLs. ``emu.mlflow.tracking_files_api = False`` makes the
  former answer 403, forcing the fallback (or set ``MLFLOW_DISABLE_DATABRICKS_SDK_FOR_RUN_ARTIFACTS``
  for runs on the client side).
* Unity Catalog versions: mlflow asks ``registered-models:is-databricks-sdk-models-artifact-repository-
  enabled`` (unless ``MLFLOW_USE_DATABRICKS_SDK_MODEL_ARTIFACTS_REPO_FOR_UC`` is set, which then
  decides). The emulator answers ``emu.mlflow.uc_files_api`` (default True): the files go through the
  Files API at ``/api/2.0/fs/files/Models/<catalog>/<schema>/<model>/<version>/...``. With False,
  ``generate-temporary-credentials`` answers ``storage_mode: DEFAULT_STORAGE`` and mlflow uses
  ``/api/2.0/fs/create-upload-url|create-download-url`` (presigned URLs served by the emulator) and
  ``/api/2.0/fs/directories/Models/...`` to list. Both work on loopback with no cloud SDK.
* Workspace-registry versions are read through ``/model-versions/list-artifacts`` and
  ``get-signed-download-uri``.

Assertion helpers: ``models`` (name -> versions), ``experiments``, ``runs``, ``logged_models``,
``artifacts`` (key -> bytes), ``files_under(prefix)``, ``bytes_written()``, ``lineage``, ``deny()``,
and the emulator's ``requests_by_path``.
"""

from __future__ import annotations

import json
import posixpath
import re
import uuid
from typing import Any

import yaml

from .databricks_mlflow_artifacts import TRACKING_ROOT, ArtifactRoutes, arg, arg_list, bad, err, like, missing, need
from .databricks_mlflow_registry import SIGNATURE_HELP, RegistryRoutes, _page, _tags
from .http import Request, Response

_CLAUSE = re.compile(r"^\s*(?:(\w+)\.)?(`[^`]+`|\"[^\"]+\"|[\w.\-]+)\s*(!=|>=|<=|=|>|<|LIKE|ILIKE)\s*(.+?)\s*$",
                     re.I)
_GROUPS = {"attributes": "attr", "attribute": "attr", "attr": "attr", "run": "attr", "tags": "tags", "tag": "tags",
           "params": "params", "param": "params", "parameters": "params", "metrics": "metrics", "metric": "metrics"}


class MlflowStore(ArtifactRoutes, RegistryRoutes):
    workspace_id = "1234567890123456"

    def __init__(self, emu: Any):
        self.emu = emu
        self.experiments: dict[str, dict] = {}
        self.runs: dict[str, dict] = {}
        self.logged_models: dict[str, dict] = {}
        #: every artifact: key (see databricks_mlflow_artifacts) -> bytes
        self.artifacts: dict[str, bytes] = {}
        self._next_experiment = 1
        self._tracking_routes()
        self._artifact_routes()
        self._registry_routes()

    def _tracking_routes(self) -> None:
        r, a = self.emu.route, "/api/2.0/mlflow"
        r("POST", f"{a}/experiments/create", self._create_experiment)
        r("GET", f"{a}/experiments/get", lambda q: {"experiment": self._experiment(arg(q, "experiment_id"))})
        r("GET", f"{a}/experiments/get-by-name", self._experiment_by_name)
        r("POST", f"{a}/experiments/search", self._search_experiments)
        r("POST", f"{a}/experiments/update", self._update_experiment)
        r("POST", f"{a}/experiments/delete", lambda q: self._experiment_stage(q, "deleted"))
        r("POST", f"{a}/experiments/restore", lambda q: self._experiment_stage(q, "active"))
        r("POST", f"{a}/experiments/set-experiment-tag", self._set_experiment_tag)
        r("POST", f"{a}/runs/create", self._create_run)
        r("GET", f"{a}/runs/get", self._get_run)
        r("POST", f"{a}/runs/update", self._update_run)
        r("POST", f"{a}/runs/search", self._search_runs)
        r("POST", f"{a}/runs/delete", lambda q: self._run_stage(q, "deleted"))
        r("POST", f"{a}/runs/restore", lambda q: self._run_stage(q, "active"))
        r("POST", f"{a}/runs/log-batch", self._log_batch)
        r("POST", f"{a}/runs/log-metric", lambda q: self._log(q, metrics=[q.json]))
        r("POST", f"{a}/runs/log-parameter", lambda q: self._log(q, params=[q.json]))
        r("POST", f"{a}/runs/set-tag", lambda q: self._log(q, tags=[q.json]))
        r("POST", f"{a}/runs/delete-tag", self._delete_tag)
        r("POST", f"{a}/runs/log-inputs", self._log_inputs)
        r("POST", f"{a}/runs/outputs", self._log_outputs)
        r("POST", f"{a}/runs/log-model", self._log_model)
        r("GET", f"{a}/metrics/get-history", self._metric_history)
        m = f"{a}/logged-models"
        r("POST", m, self._create_logged_model)
        r("POST", f"{m}/search", self._search_logged_models)
        r("GET", f"{m}/{{model_id}}", lambda q: {"model": self._model_json(self._logged_model(q.params["model_id"]))})
        r("PATCH", f"{m}/{{model_id}}", self._finalize_logged_model)
        r("DELETE", f"{m}/{{model_id}}", self._delete_logged_model)
        r("PATCH", f"{m}/{{model_id}}/tags", self._set_model_tags)
        r("DELETE", f"{m}/{{model_id}}/tags/{{tag_key}}", self._delete_model_tag)
        r("POST", f"{m}/{{model_id}}/params", self._log_model_params)

    def _now(self) -> int:
        return self.emu._now()

    # ------------------------------------------------------------ signatures (UC finalize)
    @staticmethod
    def _signature_problem(mlmodel: bytes | None) -> str | None:
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

    def _signature_check(self, mlmodel: bytes | None) -> str | None:
        return self._signature_problem(mlmodel) if self.require_signature else None

    # ------------------------------------------------------------ experiments
    def _experiment(self, experiment_id: str | None) -> dict:
        exp = self.experiments.get(str(experiment_id))
        if exp is None:
            raise missing(f"Node ID {experiment_id} does not exist.")
        return self._experiment_json(exp)

    @staticmethod
    def _experiment_json(exp: dict) -> dict:
        return {**{k: v for k, v in exp.items() if k != "tags"},
                "tags": [{"key": k, "value": v} for k, v in exp["tags"].items()]}

    def _create_experiment(self, q: Request) -> dict:
        name = need(q, "name")
        if any(e["name"] == name for e in self.experiments.values()):
            raise err(400, "RESOURCE_ALREADY_EXISTS", f"Node named '{name}' already exists")
        if not name.startswith("/"):
            raise bad(f"Got an invalid experiment name '{name}'. An experiment name must be an absolute path "
                      "within the Databricks workspace, e.g. '/Users/<some-username>/my-experiment'.")
        parent = posixpath.dirname(name.rstrip("/"))
        if getattr(self.emu.objects.get(parent), "object_type", None) not in ("DIRECTORY", "REPO"):
            raise missing(f"Parent directory {parent} does not exist.")
        experiment_id = str(self._next_experiment)
        self._next_experiment += 1
        now = self._now()
        self.experiments[experiment_id] = {
            "experiment_id": experiment_id, "name": name, "lifecycle_stage": "active",
            "artifact_location": arg(q, "artifact_location") or f"dbfs:{TRACKING_ROOT}/{experiment_id}",
            "creation_time": now, "last_update_time": now, "tags": _tags(arg(q, "tags"))}
        return {"experiment_id": experiment_id}

    def _experiment_by_name(self, q: Request) -> dict:
        name = need(q, "experiment_name")
        for exp in self.experiments.values():
            if exp["name"] == name:
                return {"experiment": self._experiment_json(exp)}
        raise missing(f"Node {name} does not exist.")

    def _search_experiments(self, q: Request) -> dict:
        view = arg(q, "view_type") or "ACTIVE_ONLY"
        found = []
        for exp in sorted(self.experiments.values(), key=lambda e: -e["creation_time"]):
            stage_ok = view == "ALL" or (exp["lifecycle_stage"] == "active") == (view == "ACTIVE_ONLY")
            record = {"attr": {"name": exp["name"], "experiment_id": exp["experiment_id"]}, "tags": exp["tags"]}
            if stage_ok and self._matches(record, arg(q, "filter")):
                found.append(self._experiment_json(exp))
        return _page(found, q, "experiments", 1000)

    def _update_experiment(self, q: Request) -> dict:
        exp = self.experiments[self._experiment(arg(q, "experiment_id"))["experiment_id"]]
        if arg(q, "new_name"):
            exp["name"] = arg(q, "new_name")
        exp["last_update_time"] = self._now()
        return {}

    def _experiment_stage(self, q: Request, stage: str) -> dict:
        exp = self.experiments[self._experiment(arg(q, "experiment_id"))["experiment_id"]]
        exp["lifecycle_stage"] = stage
        return {}

    def _set_experiment_tag(self, q: Request) -> dict:
        exp = self.experiments[self._experiment(arg(q, "experiment_id"))["experiment_id"]]
        exp["tags"][need(q, "key")] = arg(q, "value") or ""
        return {}

    # ------------------------------------------------------------ runs
    def _run_json(self, run: dict) -> dict:
        metrics = [max(history, key=lambda m: (m["step"], m["timestamp"], m["value"]))
                   for history in run["metrics"].values()]
        data = {"metrics": metrics, "params": [{"key": k, "value": v} for k, v in run["params"].items()],
                "tags": [{"key": k, "value": v} for k, v in run["tags"].items()]}
        return {"info": dict(run["info"]), "data": data, "inputs": run["inputs"],
                "outputs": {"model_outputs": run["outputs"]}}

    def _create_run(self, q: Request) -> dict:
        exp = self._experiment(need(q, "experiment_id"))
        if exp["lifecycle_stage"] != "active":
            raise bad(f"The experiment {exp['experiment_id']} must be in the 'active' state.")
        run_id = uuid.uuid4().hex
        tags = _tags(arg(q, "tags"))
        name = arg(q, "run_name") or tags.get("mlflow.runName") or f"run-{run_id[:8]}"
        tags["mlflow.runName"] = name
        info = {"run_id": run_id, "run_uuid": run_id, "run_name": name, "experiment_id": exp["experiment_id"],
                "user_id": arg(q, "user_id") or self.emu.user, "status": "RUNNING",
                "start_time": int(arg(q, "start_time") or self._now()), "lifecycle_stage": "active",
                "artifact_uri": f"{exp['artifact_location']}/{run_id}/artifacts"}
        self.runs[run_id] = {"info": info, "params": {}, "tags": tags, "metrics": {},
                             "inputs": {"dataset_inputs": [], "model_inputs": []}, "outputs": []}
        return {"run": self._run_json(self.runs[run_id])}

    def _get_run(self, q: Request) -> Response:
        run = self._run(arg(q, "run_id") or arg(q, "run_uuid"))
        return Response(200, {"run": self._run_json(run)}, {"X-Databricks-Org-Id": self.workspace_id})

    def _update_run(self, q: Request) -> dict:
        run = self._run(arg(q, "run_id") or arg(q, "run_uuid"))
        info = run["info"]
        if arg(q, "status"):
            info["status"] = arg(q, "status")
        if arg(q, "end_time") is not None:
            info["end_time"] = int(arg(q, "end_time"))
        if arg(q, "run_name"):
            info["run_name"] = run["tags"]["mlflow.runName"] = arg(q, "run_name")
        return {"run_info": dict(info)}

    def _run_stage(self, q: Request, stage: str) -> dict:
        self._run(need(q, "run_id"))["info"]["lifecycle_stage"] = stage
        return {}

    def _log(self, q: Request, metrics: list | None = None, params: list | None = None,
             tags: list | None = None) -> dict:
        run = self._run(arg(q, "run_id") or arg(q, "run_uuid"))
        if run["info"]["lifecycle_stage"] != "active":
            raise bad(f"The run {run['info']['run_id']} must be in the 'active' state.")
        for p in params or []:
            key, value = p["key"], str(p.get("value", ""))
            if run["params"].get(key, value) != value:
                raise bad(f"Changing param values is not allowed. Param with key='{key}' was already logged with "
                          f"value='{run['params'][key]}' for run ID='{run['info']['run_id']}'. Attempted logging "
                          f"new value '{value}'.")
            run["params"][key] = value
        for m in metrics or []:
            metric = {"key": m["key"], "value": float(m.get("value", 0)), "timestamp": int(m.get("timestamp") or 0),
                      "step": int(m.get("step") or 0)}
            metric.update({k: m[k] for k in ("dataset_name", "dataset_digest", "model_id") if m.get(k)})
            run["metrics"].setdefault(m["key"], []).append(metric)
        for t in tags or []:
            run["tags"][t["key"]] = str(t.get("value", ""))
            if t["key"] == "mlflow.runName":
                run["info"]["run_name"] = str(t.get("value", ""))
        return {}

    def _log_batch(self, q: Request) -> dict:
        return self._log(q, arg_list(q, "metrics"), arg_list(q, "params"), arg_list(q, "tags"))

    def _delete_tag(self, q: Request) -> dict:
        run = self._run(need(q, "run_id"))
        if need(q, "key") not in run["tags"]:
            raise missing(f"No tag with name: {arg(q, 'key')} in run with id {arg(q, 'run_id')}")
        del run["tags"][arg(q, "key")]
        return {}

    def _log_inputs(self, q: Request) -> dict:
        run = self._run(need(q, "run_id"))
        run["inputs"]["dataset_inputs"] += arg_list(q, "datasets")
        run["inputs"]["model_inputs"] += arg_list(q, "models")
        return {}

    def _log_outputs(self, q: Request) -> dict:
        run = self._run(need(q, "run_id"))
        for out in arg_list(q, "models"):
            self._logged_model(out.get("model_id"))
            run["outputs"].append({"model_id": out["model_id"], "step": int(out.get("step") or 0)})
        return {}

    def _log_model(self, q: Request) -> dict:
        run = self._run(need(q, "run_id"))
        history = json.loads(run["tags"].get("mlflow.log-model.history", "[]"))
        try:
            history.append(json.loads(need(q, "model_json")))
        except ValueError:
            raise bad("model_json is not valid JSON.") from None
        run["tags"]["mlflow.log-model.history"] = json.dumps(history)
        return {}

    def _metric_history(self, q: Request) -> dict:
        run = self._run(arg(q, "run_id") or arg(q, "run_uuid"))
        return {"metrics": list(run["metrics"].get(need(q, "metric_key"), []))}

    def _search_runs(self, q: Request) -> dict:
        view = arg(q, "run_view_type") or "ACTIVE_ONLY"
        ids = {str(i) for i in arg_list(q, "experiment_ids")}
        found = []
        for run in self.runs.values():
            info = run["info"]
            stage_ok = view == "ALL" or (info["lifecycle_stage"] == "active") == (view == "ACTIVE_ONLY")
            latest = {k: max(h, key=lambda m: (m["step"], m["timestamp"]))["value"] for k, h in run["metrics"].items()}
            record = {"attr": {**info, "status": info["status"]}, "tags": run["tags"], "params": run["params"],
                      "metrics": latest}
            if info["experiment_id"] in ids and stage_ok and self._matches(record, arg(q, "filter")):
                found.append((record, run))
        for order in reversed(arg_list(q, "order_by") or ["attributes.start_time DESC"]):
            desc = order.strip().upper().endswith(" DESC")
            group, key = self._column(re.sub(r"\s+(ASC|DESC)$", "", order.strip(), flags=re.I))
            have = [f for f in found if key in f[0][group]]
            lack = [f for f in found if key not in f[0][group]]
            found = sorted(have, key=lambda f: f[0][group][key], reverse=desc) + lack
        return _page([self._run_json(run) for _, run in found], q, "runs", 1000)

    # ------------------------------------------------------------ filters
    @staticmethod
    def _column(text: str) -> tuple[str, str]:
        m = re.fullmatch(r"(?:(\w+)\.)?(`[^`]+`|\"[^\"]+\"|[\w.\-]+)", text.strip())
        if not m:
            raise bad(f"Invalid order_by clause '{text}'.")
        group = _GROUPS.get((m.group(1) or "attributes").lower())
        key = m.group(2).strip('`"')
        if group is None:  # a dotted name without a prefix: an attribute
            group, key = "attr", text.strip().strip('`"')
        return group, {"created": "start_time", "Created": "start_time", "run name": "run_name"}.get(key, key)

    def _matches(self, record: dict, filter_string: str | None) -> bool:
        for clause in re.split(r"\s+and\s+", filter_string or "", flags=re.I):
            if not clause.strip():
                continue
            m = _CLAUSE.match(clause)
            if not m:
                raise bad(f"Error on parsing filter '{filter_string}'.")
            group, key = self._column(f"{m.group(1) + '.' if m.group(1) else ''}{m.group(2)}")
            op, raw = m.group(3).upper(), m.group(4)
            value: Any = raw[1:-1] if raw[:1] in "'\"" else float(raw)
            have = record.get(group, {}).get(key)
            if have is None:
                return False
            if isinstance(value, float):
                have = float(have)
            else:
                have = str(have)
            ok = {"=": have == value, "!=": have != value, ">": have > value, ">=": have >= value,
                  "<": have < value, "<=": have <= value}.get(op)
            if ok is None:
                ok = like(str(have), str(value), op == "LIKE")
            if not ok:
                return False
        return True

    # ------------------------------------------------------------ logged models
    def _model_json(self, model: dict) -> dict:
        info = {k: v for k, v in model["info"].items() if k != "tags"}
        info["tags"] = [{"key": k, "value": v} for k, v in model["info"]["tags"].items()]
        return {"info": info, "data": {"params": [{"key": k, "value": v} for k, v in model["params"].items()],
                                       "metrics": []}}

    def _create_logged_model(self, q: Request) -> dict:
        exp = self._experiment(need(q, "experiment_id"))
        model_id = "m-" + uuid.uuid4().hex
        now = self._now()
        run_id = arg(q, "source_run_id") or ""
        if run_id:
            self._run(run_id)
        info = {"model_id": model_id, "experiment_id": exp["experiment_id"], "name": arg(q, "name") or "model",
                "creation_timestamp_ms": now, "last_updated_timestamp_ms": now,
                "artifact_uri": f"{exp['artifact_location']}/logged_models/{model_id}/artifacts",
                "status": "LOGGED_MODEL_PENDING", "model_type": arg(q, "model_type") or "",
                "source_run_id": run_id, "tags": _tags(arg(q, "tags"))}
        self.logged_models[model_id] = {"info": info, "params": _tags(arg(q, "params"))}
        return {"model": self._model_json(self.logged_models[model_id])}

    def _finalize_logged_model(self, q: Request) -> dict:
        model = self._logged_model(q.params["model_id"])
        model["info"].update(status=arg(q, "status") or "LOGGED_MODEL_READY", last_updated_timestamp_ms=self._now())
        return {"model": self._model_json(model)}

    def _delete_logged_model(self, q: Request) -> dict:
        del self.logged_models[self._logged_model(q.params["model_id"])["info"]["model_id"]]
        return {}

    def _set_model_tags(self, q: Request) -> dict:
        self._logged_model(q.params["model_id"])["info"]["tags"].update(_tags(arg(q, "tags")))
        return {}

    def _delete_model_tag(self, q: Request) -> dict:
        self._logged_model(q.params["model_id"])["info"]["tags"].pop(q.params["tag_key"], None)
        return {}

    def _log_model_params(self, q: Request) -> dict:
        self._logged_model(q.params["model_id"])["params"].update(_tags(arg(q, "params")))
        return {}

    def _search_logged_models(self, q: Request) -> dict:
        ids = {str(i) for i in arg_list(q, "experiment_ids")}
        found = []
        for model in sorted(self.logged_models.values(), key=lambda m: -m["info"]["creation_timestamp_ms"]):
            record = {"attr": model["info"], "tags": model["info"]["tags"], "params": model["params"]}
            if model["info"]["experiment_id"] in ids and self._matches(record, arg(q, "filter")):
                found.append(self._model_json(model))
        return _page(found, q, "models", 50)
