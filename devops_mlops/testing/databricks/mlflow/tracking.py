"""MLflow tracking in the Databricks emulator: experiments, runs, metrics, params and tags.

Experiments (create, get, get-by-name, search, update, delete, restore, set-experiment-tag) and
runs (create, get, update, search with a filter subset and order_by, delete, restore, log-batch,
log-metric, log-parameter, set-tag, delete-tag, log-inputs, outputs, log-model), metric history.
An experiment's name is a workspace path whose folder must exist. ``runs/get`` answers with an
``X-Databricks-Org-Id`` header (``workspace_id``), which mlflow records as a UC version's
``run_tracking_server_id``.
"""

from __future__ import annotations

import json
import posixpath
import re
import uuid
from typing import Any

from ...http import Request, Response
from .common import TRACKING_ROOT, arg, arg_list, bad, column, err, matches, missing, need, paginate, tag_dict


class TrackingRoutes:
    """Mixin of :class:`~devops_mlops.testing.databricks.mlflow.MlflowStore`: experiments and runs."""

    emu: Any
    workspace_id: str
    experiments: dict[str, dict]
    runs: dict[str, dict]
    _now: Any
    _run: Any
    _logged_model: Any

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
            "creation_time": now, "last_update_time": now, "tags": tag_dict(arg(q, "tags"))}
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
            if stage_ok and matches(record, arg(q, "filter")):
                found.append(self._experiment_json(exp))
        return paginate(found, q, "experiments", 1000)

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
        tags = tag_dict(arg(q, "tags"))
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
            if info["experiment_id"] in ids and stage_ok and matches(record, arg(q, "filter")):
                found.append((record, run))
        for order in reversed(arg_list(q, "order_by") or ["attributes.start_time DESC"]):
            desc = order.strip().upper().endswith(" DESC")
            group, key = column(re.sub(r"\s+(ASC|DESC)$", "", order.strip(), flags=re.I))
            have = [f for f in found if key in f[0][group]]
            lack = [f for f in found if key not in f[0][group]]
            found = sorted(have, key=lambda f: f[0][group][key], reverse=desc) + lack
        return paginate([self._run_json(run) for _, run in found], q, "runs", 1000)
