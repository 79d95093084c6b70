"""Registry port over MLflow: a sqlite store under .mlops/ locally, the Databricks
(workspace or Unity Catalog) registry on a databricks target, or whatever
``tracking_uri``/``registry_uri`` the target sets (an ``mlflow server`` included).

Slots map to aliases (``staging -> challenger``, ``production -> champion`` by
default) or, with ``promotion.scheme: stages``, to the workspace registry's
stages. Unity Catalog names (``catalog.schema.model``) always use aliases.
MLflow errors become :class:`ServiceError` (exit 2) with a hint (mlflow_errors.py).
Experiments, runs, loading and copying models are in mlflow_runs.py.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

from ..ports.registry import ModelVersion
from .mlflow_errors import translate
from .mlflow_runs import MlflowRuns

STAGES = {"staging": "Staging", "production": "Production"}


def is_uc_name(name: str) -> bool:
    return name.count(".") == 2


_LOGGED_MODEL_ID = re.compile(r"(?:^models:/|/logged_models/)(m-[0-9a-f]{32})(?:/|$)")


def _logged_model_id(source: str | None) -> str | None:
    """The logged model a version's source names (``models:/m-<id>`` or ``.../logged_models/m-<id>/...``)."""
    found = _LOGGED_MODEL_ID.search(source or "")
    return found.group(1) if found else None


def _field(entity: Any, name: str) -> Any:
    """An attribute of an mlflow entity that some stores' search results do not carry (Unity
    Catalog's: reading it raises, or it is not a value): None then."""
    try:
        value = getattr(entity, name, None)
    except Exception:  # noqa: BLE001 - the store does not fill it in
        return None
    return None if callable(value) else value


class MlflowRegistry(MlflowRuns):
    """The registry port over an MLflow tracking and registry server (see the module docstring)."""

    def __init__(
        self,
        tracking_uri: str,
        registry_uri: str | None = None,
        *,
        scheme: str = "aliases",
        aliases: dict[str, str] | None = None,
        artifact_root: str | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri or tracking_uri
        self.scheme = scheme
        self.aliases = dict(aliases or {"staging": "challenger", "production": "champion"})
        #: where new experiments keep their artifacts (local store only)
        self.artifact_root = artifact_root
        #: environment that names this registry's Databricks workspace (see databricks_env)
        self.env: dict[str, str | None] = {}
        self._client = None
        # fail fast on an unreachable server instead of MLflow's minutes of retries
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")

    # -- plumbing -----------------------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            from mlflow import MlflowClient

            with translate("opening the registry", self.registry_uri):
                self._client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)
        return self._client

    def open(self) -> None:
        self.client  # noqa: B018 - the property opens the store

    def activate(self) -> None:
        """Point MLflow's process-wide fluent API (start_run, log_model, load_model) at this registry."""
        import mlflow

        _apply(self.env)  # two targets in one process (promote --from): the workspace is this one's
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.registry_uri)

    def scheme_for(self, name: str) -> str:
        """Unity Catalog has aliases only; a Databricks workspace registry takes no aliases from the
        MLflow client (it refuses ``set_registered_model_alias`` there), so it uses stages."""
        if is_uc_name(name) or self.registry_uri.startswith("databricks-uc"):
            return "aliases"
        if self.registry_uri.split(":", 1)[0] == "databricks":
            return "stages"
        return self.scheme

    def _convert(self, mv: Any, aliases: dict[str, int] | None = None, with_metrics: bool = True) -> ModelVersion:
        version = int(mv.version)
        names = list(_field(mv, "aliases") or [])
        if aliases is not None:
            names = sorted(set(names) | {a for a, v in aliases.items() if int(v) == version})
        metrics: dict[str, float] = {}
        tags = dict(_field(mv, "tags") or {})
        run_id = mv.run_id or None
        model_id = _field(mv, "model_id") or _logged_model_id(mv.source)
        if with_metrics and not run_id and model_id:
            # a version registered from a logged model (MLflow 3) may name only the model: its id, or
            # (the workspace registry over REST) a source path holding it
            try:
                run_id = self.client.get_logged_model(model_id).source_run_id or None
            except Exception:  # noqa: BLE001, S110 - a store without logged models
                pass
        if with_metrics and run_id:
            try:
                run = self.client.get_run(run_id)
                metrics = dict(run.data.metrics)
                run_tags = run.data.tags
                # the commit the training code named wins over the one MLflow detects from the
                # process's working directory (newer MLflow releases record it for any run)
                commit = next(
                    (run_tags[k] for k in ("mlops.git_commit", "git_commit", "mlflow.source.git.commit") if run_tags.get(k)),
                    None,
                )
                if commit and not any(tags.get(k) for k in ("mlops.git_commit", "git_commit")):
                    tags.setdefault("mlops.source_git_commit", commit)
            except Exception:  # noqa: BLE001, S110 - a deleted run: the version is still listed
                pass
        stage = getattr(mv, "current_stage", None)
        return ModelVersion(
            name=mv.name,
            version=version,
            run_id=run_id,
            source=mv.source,
            aliases=names,
            stage=None if stage in (None, "None") else stage,
            tags=tags,
            metrics=metrics,
            created_at=int(mv.creation_timestamp) if mv.creation_timestamp else None,
        )

    def _alias_map(self, name: str) -> dict[str, int]:
        with translate(f"model {name}", self.registry_uri):
            model = self.client.get_registered_model(name)
        return {a: int(v) for a, v in (model.aliases or {}).items()}

    # -- the port -----------------------------------------------------------------------------
    def get_model(self, name: str, *, with_metrics: bool = True) -> list[ModelVersion]:
        aliases = self._alias_map(name)  # ServiceError when the model is unknown
        with translate(f"model {name}", self.registry_uri):
            found = self.client.search_model_versions(f"name = '{name}'")
            if self.scheme_for(name) == "aliases" and is_uc_name(name):
                # Unity Catalog search results carry neither aliases nor tags: read each version
                found = [self.client.get_model_version(name, str(mv.version)) for mv in found]
        versions = [self._convert(mv, aliases, with_metrics) for mv in found]
        return sorted(versions, key=lambda v: v.version)

    def get_version(self, name: str, version: int, *, with_metrics: bool = True) -> ModelVersion:
        aliases = self._alias_map(name)
        with translate(f"model {name} version {version}", self.registry_uri):
            mv = self.client.get_model_version(name, str(version))
        return self._convert(mv, aliases, with_metrics)

    def holder(self, name: str, slot: str) -> ModelVersion | None:
        if self.scheme_for(name) == "aliases":
            version = self._alias_map(name).get(self.aliases[slot])
            return None if version is None else self.get_version(name, version, with_metrics=False)
        stage = STAGES[slot]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with translate(f"model {name}", self.registry_uri):
                found = self.client.search_model_versions(f"name = '{name}'")
        holders = [mv for mv in found if mv.current_stage == stage]
        if not holders:
            return None
        return self._convert(max(holders, key=lambda mv: int(mv.version)), None, with_metrics=False)

    def assign(self, name: str, slot: str, version: int) -> None:
        with translate(f"giving {slot} of model {name} to version {version}", self.registry_uri):
            if self.scheme_for(name) == "aliases":
                self.client.set_registered_model_alias(name, self.aliases[slot], str(version))
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self.client.transition_model_version_stage(
                        name, str(version), STAGES[slot], archive_existing_versions=True
                    )

    def unassign(self, name: str, slot: str, version: int) -> None:
        with translate(f"taking {slot} of model {name} from version {version}", self.registry_uri):
            if self.scheme_for(name) == "aliases":
                self.client.delete_registered_model_alias(name, self.aliases[slot])
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self.client.transition_model_version_stage(name, str(version), "None")

    def set_tags(self, name: str, version: int, tags: dict[str, str]) -> None:
        with translate(f"tagging model {name} version {version}", self.registry_uri):
            for key, value in tags.items():
                self.client.set_model_version_tag(name, str(version), key, "" if value is None else str(value))

    def model_tags(self, name: str) -> dict[str, str]:
        with translate(f"model {name}", self.registry_uri):
            return dict(self.client.get_registered_model(name).tags or {})

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        with translate(f"tagging model {name}", self.registry_uri):
            self.client.set_registered_model_tag(name, key, value)

    def delete_model_tag(self, name: str, key: str) -> None:
        with translate(f"untagging model {name}", self.registry_uri):
            self.client.delete_registered_model_tag(name, key)

    def model_uri(self, name: str, version: int) -> str:
        return f"models:/{name}/{version}"


def databricks_env(target) -> dict[str, str | None]:
    """What tells mlflow which workspace a target is. mlflow finds a ``databricks`` /
    ``databricks-uc`` workspace through the profile in the URI, but some of its paths (the Files
    API artifact repositories) build the SDK's client from the unified auth's environment alone:
    a target's ``host:`` becomes ``DATABRICKS_HOST``, its ``profile:`` ``DATABRICKS_CONFIG_PROFILE``
    (with no host from another target left over). The credentials stay where the SDK looks."""
    if target.backend != "databricks":
        return {}
    if target.profile:
        return {"DATABRICKS_CONFIG_PROFILE": target.profile, "DATABRICKS_HOST": None}
    return {"DATABRICKS_HOST": target.host} if target.host else {}


def share_databricks_host(target) -> None:
    _apply(databricks_env(target))


def _apply(env: dict[str, str | None]) -> None:
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def uris_for(ctx) -> tuple[str, str, str | None]:
    """(tracking_uri, registry_uri, artifact_root) for the context's target."""
    target = ctx.target
    artifact_root = None
    if target.backend == "databricks":
        default = f"databricks://{target.profile}" if target.profile else "databricks"
        tracking = target.tracking_uri or default
        registry = target.registry_uri or (
            ("databricks-uc" + tracking[len("databricks") :]) if is_uc_name(ctx.config.model.name) else tracking
        )
    else:
        state: Path = ctx.state_dir
        tracking = target.tracking_uri
        if not tracking:
            state.mkdir(parents=True, exist_ok=True)
            tracking = f"sqlite:///{state / 'mlflow.db'}"
            artifact_root = (state / "mlartifacts").as_uri()
        registry = target.registry_uri or tracking
    return tracking, registry, artifact_root


def from_context(ctx) -> MlflowRegistry:
    from ..deps import warn_untested

    warn_untested(getattr(ctx, "console", None), "mlflow")
    share_databricks_host(ctx.target)
    tracking, registry, artifact_root = uris_for(ctx)
    promotion = ctx.config.promotion
    out = MlflowRegistry(
        tracking, registry, scheme=promotion.scheme, aliases=promotion.aliases, artifact_root=artifact_root
    )
    out.env = databricks_env(ctx.target)
    return out
