"""An in-memory model registry: the registry port (devops_mlops/ports/registry.py) kept in plain
Python, passing the same contract suite as the MLflow adapter (tests/contract/).

It holds experiments, runs (tags, params, metrics, the model object), registered models
(their tags and aliases) and versions; slots map to aliases or, with ``scheme="stages"``,
to stages, exactly as the MLflow adapter maps them. A "loaded" model is the object the run
logged, wrapped so it answers ``predict`` on its input columns and carries the input
signature as a pyfunc model does.

Assertion helpers: :meth:`FakeRegistry.assigned`, :meth:`FakeRegistry.versions_of`,
:meth:`FakeRegistry.version_tags`, and the ``runs`` / ``experiments`` dicts.
"""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from ...errors import ServiceError
from ...ports.registry import LoggedRun, ModelVersion

STAGES = {"staging": "Staging", "production": "Production"}
_NOT_FOUND_HINT = "check the name with `mlops model status`, or register the model first"
_MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[^/]+))$")
_RUNS_URI = re.compile(r"^runs:/(?P<run>[^/]+)/model$")


@dataclass
class FakeRun:
    """A logged run: what a test may read back."""

    run_id: str
    experiment_id: str
    name: str
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    model: Any = None
    inputs: list[str] | None = None


@dataclass
class _Model:
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    versions: dict[int, ModelVersion] = field(default_factory=dict)


class _Schema:
    def __init__(self, inputs: list[str]) -> None:
        self._inputs = list(inputs)

    def input_names(self) -> list[str]:
        return list(self._inputs)

    def has_input_names(self) -> bool:
        return bool(self._inputs)


class _Metadata:
    def __init__(self, inputs: list[str] | None) -> None:
        self._schema = None if inputs is None else _Schema(inputs)

    def get_input_schema(self) -> _Schema | None:
        return self._schema


class FakePyfunc:
    """A logged model as ``load_model`` returns it: ``predict(frame)`` on the signature's columns."""

    def __init__(self, model: Any, inputs: list[str] | None) -> None:
        self.model = model
        self.inputs = inputs
        self.metadata = _Metadata(inputs)

    def predict(self, frame: Any) -> Any:
        return self.model.predict(frame[self.inputs] if self.inputs is not None else frame)

    def get_raw_model(self) -> Any:
        """The logged object itself (as an sklearn pyfunc model answers)."""
        return self.model


class FakeRegistry:
    """The registry port in memory (see the module docstring)."""

    registry_uri = "memory://registry"

    def __init__(self, *, scheme: str = "aliases", aliases: dict[str, str] | None = None) -> None:
        self.scheme = scheme
        self.aliases = dict(aliases or {"staging": "challenger", "production": "champion"})
        #: experiment name -> id
        self.experiments: dict[str, str] = {}
        #: run id -> run
        self.runs: dict[str, FakeRun] = {}
        #: the experiment new runs go to (``use_experiment``)
        self.active_experiment: str | None = None
        #: whether ``open()`` (the store connected ahead) and ``activate()`` (MLflow pointed here) ran
        self.opened = False
        self.activated = False
        self._models: dict[str, _Model] = {}
        self._clock = itertools.count(1_700_000_000_000)

    def view(self, *, scheme: str | None = None, aliases: dict[str, str] | None = None) -> "FakeRegistry":
        """Another registry over the same store (as two MLflow clients of one URI), with its own
        slot scheme or alias names."""
        other = FakeRegistry(scheme=scheme or self.scheme, aliases=aliases or self.aliases)
        other.experiments, other.runs, other._models, other._clock = (
            self.experiments, self.runs, self._models, self._clock)
        return other

    # -- assertion helpers ---------------------------------------------------------------------
    def assigned(self, name: str, slot: str) -> int | None:
        """The version holding ``slot`` of ``name`` (None: nobody)."""
        holder = self.holder(name, slot) if name in self._models else None
        return None if holder is None else holder.version

    def versions_of(self, name: str) -> list[int]:
        """The version numbers of ``name`` ([] when it is not registered)."""
        return sorted(self._models[name].versions) if name in self._models else []

    def version_tags(self, name: str, version: int) -> dict[str, str]:
        return dict(self._version(name, version).tags)

    # -- versions and slots --------------------------------------------------------------------
    def scheme_for(self, name: str) -> str:
        """Unity Catalog names (``catalog.schema.model``) have aliases only."""
        return "aliases" if name.count(".") == 2 else self.scheme

    def _model(self, name: str) -> _Model:
        if name not in self._models:
            raise ServiceError(f"model {name}: Registered Model with name={name} not found", hint=_NOT_FOUND_HINT)
        return self._models[name]

    def _version(self, name: str, version: int) -> ModelVersion:
        model = self._model(name)
        if int(version) not in model.versions:
            raise ServiceError(f"model {name} version {version}: Model Version (name={name}, version={version}) "
                               "not found", hint=_NOT_FOUND_HINT)
        return model.versions[int(version)]

    def _view(self, name: str, mv: ModelVersion, with_metrics: bool) -> ModelVersion:
        """A copy as the adapter returns it: aliases from the model, the run's metrics, and the
        run's commit as ``mlops.source_git_commit`` when the version names none."""
        aliases = sorted(a for a, v in self._models[name].aliases.items() if v == mv.version)
        tags = dict(mv.tags)
        metrics: dict[str, float] = {}
        run = self.runs.get(mv.run_id or "")
        if with_metrics and run is not None:
            metrics = dict(run.metrics)
            commit = next((run.tags[k] for k in ("mlops.git_commit", "git_commit") if run.tags.get(k)), None)
            if commit and not any(tags.get(k) for k in ("mlops.git_commit", "git_commit")):
                tags.setdefault("mlops.source_git_commit", commit)
        return replace(mv, aliases=aliases, tags=tags, metrics=metrics)

    def get_model(self, name: str, *, with_metrics: bool = True) -> list[ModelVersion]:
        model = self._model(name)
        return [self._view(name, model.versions[v], with_metrics) for v in sorted(model.versions)]

    def get_version(self, name: str, version: int, *, with_metrics: bool = True) -> ModelVersion:
        return self._view(name, self._version(name, version), with_metrics)

    def holder(self, name: str, slot: str) -> ModelVersion | None:
        model = self._model(name)
        if self.scheme_for(name) == "aliases":
            version = model.aliases.get(self.aliases[slot])
            return None if version is None else self.get_version(name, version, with_metrics=False)
        holders = [v for v, mv in model.versions.items() if mv.stage == STAGES[slot]]
        return self.get_version(name, max(holders), with_metrics=False) if holders else None

    def assign(self, name: str, slot: str, version: int) -> None:
        target = self._version(name, version)
        model = self._models[name]
        if self.scheme_for(name) == "aliases":
            model.aliases[self.aliases[slot]] = target.version
            return
        for mv in model.versions.values():  # archive_existing_versions=True
            if mv.stage == STAGES[slot] and mv.version != target.version:
                mv.stage = "Archived"
        target.stage = STAGES[slot]

    def unassign(self, name: str, slot: str, version: int) -> None:
        target = self._version(name, version)
        if self.scheme_for(name) == "aliases":
            self._models[name].aliases.pop(self.aliases[slot], None)
        else:
            target.stage = None

    def set_tags(self, name: str, version: int, tags: dict[str, str]) -> None:
        mv = self._version(name, version)
        mv.tags.update({k: "" if v is None else str(v) for k, v in tags.items()})

    def model_tags(self, name: str) -> dict[str, str]:
        return dict(self._model(name).tags)

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        self._model(name).tags[key] = str(value)

    def delete_model_tag(self, name: str, key: str) -> None:
        self._model(name).tags.pop(key, None)  # a tag that is not there: nothing to do

    def model_uri(self, name: str, version: int) -> str:
        return f"models:/{name}/{version}"

    # -- tracking ------------------------------------------------------------------------------
    def _run_of(self, uri: str) -> FakeRun:
        """The run whose model ``uri`` names (``runs:/<id>/model``, ``models:/<name>/<n>``, ``models:/<name>@<alias>``)."""
        found = _RUNS_URI.match(uri)
        if found:
            return self.run(found.group("run"))
        found = _MODELS_URI.match(uri)
        if not found:
            raise ServiceError(f"loading model {uri}: not a runs:/ or models:/ URI", hint=_NOT_FOUND_HINT)
        name = found.group("name")
        if found.group("alias"):
            version = self._model(name).aliases.get(found.group("alias"))
            if version is None:
                raise ServiceError(f"loading model {uri}: no alias {found.group('alias')!r}", hint=_NOT_FOUND_HINT)
        else:
            version = int(found.group("version"))
        return self.run(self._version(name, version).run_id or "")

    def run(self, run_id: str) -> FakeRun:
        """The run ``run_id`` (ServiceError when there is none)."""
        if run_id not in self.runs:
            raise ServiceError(f"reading run {run_id}: Run '{run_id}' not found", hint=_NOT_FOUND_HINT)
        return self.runs[run_id]

    def load_model(self, model: str, version: int | None = None) -> FakePyfunc:
        run = self._run_of(model if version is None else self.model_uri(model, version))
        return FakePyfunc(run.model, run.inputs)

    def spark_udf(self, spark: Any, name: str, version: int, result_type: str = "double") -> Any:
        raise ServiceError(f"model {name} version {version}: the in-memory registry builds no Spark UDF",
                           hint="score Spark tables against an MLflow registry")

    def run_tags(self, run_id: str) -> dict[str, str]:
        return dict(self.run(run_id).tags)

    def register(self, model_uri: str, name: str, tags: dict[str, str] | None = None) -> int:
        run = self._run_of(model_uri)
        model = self._models.setdefault(name, _Model())
        version = max(model.versions, default=0) + 1
        model.versions[version] = ModelVersion(
            name=name, version=version, run_id=run.run_id, source=model_uri,
            tags={k: str(v) for k, v in (tags or {}).items()}, created_at=next(self._clock),
        )
        return version

    def open(self) -> None:
        self.opened = True

    def activate(self) -> None:
        self.activated = True

    def ensure_experiment(self, name: str) -> str:
        return self.experiments.setdefault(name, str(len(self.experiments) + 1))

    def use_experiment(self, name: str) -> str:
        self.active_experiment = name
        return self.ensure_experiment(name)

    def log_training_run(self, model: Any, *, sample: Any, experiment: str, run_name: str,
                         params: dict[str, Any], metrics: dict[str, float], tags: dict[str, str]) -> LoggedRun:
        experiment_id = self.use_experiment(experiment)
        run_id = uuid.uuid4().hex
        self.runs[run_id] = FakeRun(
            run_id, experiment_id, run_name, tags=dict(tags), params={k: str(v) for k, v in params.items()},
            metrics={k: float(v) for k, v in metrics.items()}, model=model, inputs=[str(c) for c in sample.columns],
        )
        return LoggedRun(run_id, f"runs:/{run_id}/model")

    def log_sklearn_model(self, model: Any, name: str, *, X: Any, metrics: dict[str, float] | None = None,
                          params: dict[str, Any] | None = None, tags: dict[str, str] | None = None,
                          experiment: str | None = None) -> ModelVersion:
        """Log ``model`` in a new run and register it as a new version of ``name`` (as the MLflow
        adapter's seeding helper does)."""
        logged = self.log_training_run(model, sample=X, experiment=experiment or f"mlops-{name}", run_name="model",
                                       params=params or {}, metrics=metrics or {}, tags=tags or {})
        return self.get_version(name, self.register(logged.model_uri, name))
