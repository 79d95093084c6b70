"""MLflow logged models in the Databricks emulator: create, get, finalize, search, delete, tags
and params (``/api/2.0/mlflow/logged-models``)."""

from __future__ import annotations

import uuid
from typing import Any

from ...http import Request
from .common import arg, arg_list, matches, need, paginate, tag_dict


class LoggedModelRoutes:
    """Mixin of :class:`~devops_mlops.testing.databricks.mlflow.MlflowStore`: logged models."""

    emu: Any
    logged_models: dict[str, dict]
    _now: Any
    _experiment: Any
    _run: Any
    _logged_model: Any

    def _logged_model_routes(self) -> None:
        r, a = self.emu.route, "/api/2.0/mlflow"
        m = f"{a}/logged-models"
        r("POST", m, self._create_logged_model)
        r("POST", f"{m}/search", self._search_logged_models)
        r("GET", f"{m}/{{model_id}}", lambda q: {"model": self._model_json(self._logged_model(q.params["model_id"]))})
        r("PATCH", f"{m}/{{model_id}}", self._finalize_logged_model)
        r("DELETE", f"{m}/{{model_id}}", self._delete_logged_model)
        r("PATCH", f"{m}/{{model_id}}/tags", self._set_model_tags)
        r("DELETE", f"{m}/{{model_id}}/tags/{{tag_key}}", self._delete_model_tag)
        r("POST", f"{m}/{{model_id}}/params", self._log_model_params)

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
                "source_run_id": run_id, "tags": tag_dict(arg(q, "tags"))}
        self.logged_models[model_id] = {"info": info, "params": tag_dict(arg(q, "params"))}
        return {"model": self._model_json(self.logged_models[model_id])}

    def _finalize_logged_model(self, q: Request) -> dict:
        model = self._logged_model(q.params["model_id"])
        model["info"].update(status=arg(q, "status") or "LOGGED_MODEL_READY", last_updated_timestamp_ms=self._now())
        return {"model": self._model_json(model)}

    def _delete_logged_model(self, q: Request) -> dict:
        del self.logged_models[self._logged_model(q.params["model_id"])["info"]["model_id"]]
        return {}

    def _set_model_tags(self, q: Request) -> dict:
        self._logged_model(q.params["model_id"])["info"]["tags"].update(tag_dict(arg(q, "tags")))
        return {}

    def _delete_model_tag(self, q: Request) -> dict:
        self._logged_model(q.params["model_id"])["info"]["tags"].pop(q.params["tag_key"], None)
        return {}

    def _log_model_params(self, q: Request) -> dict:
        self._logged_model(q.params["model_id"])["params"].update(tag_dict(arg(q, "params")))
        return {}

    def _search_logged_models(self, q: Request) -> dict:
        ids = {str(i) for i in arg_list(q, "experiment_ids")}
        found = []
        for model in sorted(self.logged_models.values(), key=lambda m: -m["info"]["creation_timestamp_ms"]):
            record = {"attr": model["info"], "tags": model["info"]["tags"], "params": model["params"]}
            if model["info"]["experiment_id"] in ids and matches(record, arg(q, "filter")):
                found.append(self._model_json(model))
        return paginate(found, q, "models", 50)
