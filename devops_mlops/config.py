"""mlops.yaml: found, read once, ``${ENV}``-substituted, validated into typed settings.

The whole schema lives here and is documented in docs/config.md.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from . import console
from .config_file import CONFIG_NAME, find_config  # noqa: F401 - part of this module's API
from .errors import ConfigError, InputError, UsageError
from .schema import build, field
from .yamlload import dotted, line_of, load_with_lines

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass
class ModelCfg:
    name: str = field(required=True)
    #: the label column of the training/evaluation data
    label: str = "label"
    #: the columns that identify a scored record (kept in the predictions table)
    keys: list[str] = field(factory=list)
    #: the metric the model is judged on first (status tables, retrain improvement)
    primary_metric: str = "rmse"
    #: True when a larger primary metric is better
    higher_is_better: bool = False
    #: the table the model's inputs are read from (key columns, batch_id, features)
    features_table: str = "features"
    #: the table the labels arrive in (key columns, batch_id, label)
    labels_table: str = "labels"


@dataclass
class TargetModelCfg:
    """What a target changes of ``model:`` (a model of its own catalog or workspace); unset keys keep
    the project's value. ``name`` may use ``${var.NAME}`` (the target's variables over the project's)."""

    name: str | None = None
    label: str | None = None
    keys: list[str] | None = None
    primary_metric: str | None = None
    higher_is_better: bool | None = None
    features_table: str | None = None
    labels_table: str | None = None


_VAR_REF = re.compile(r"\$\{var\.([A-Za-z_][A-Za-z0-9_-]*)\}")


def is_uc_registry(uri: str | None) -> bool:
    return bool(uri) and uri.split(":", 1)[0] == "databricks-uc"


@dataclass
class LintCfg:
    select: list[str] = field(factory=list)
    ignore: list[str] = field(factory=list)
    exclude: list[str] = field(factory=list)


@dataclass
class TestCfg:
    patterns: list[str] = field(factory=lambda: ["test_*", "*_test"])
    timeout: int = 600
    jobs: int | None = None


@dataclass
class Bound:
    min: float | None = None
    max: float | None = None

    def _validate(self):
        if self.min is None and self.max is None:
            return "give min, max or both"
        if self.min is not None and self.max is not None and self.min > self.max:
            return "min is greater than max"
        return None


@dataclass
class PromotionCfg:
    scheme: Literal["aliases", "stages"] = "aliases"
    aliases: dict[str, str] = field(factory=lambda: {"staging": "challenger", "production": "champion"})
    thresholds: dict[str, Bound] = field(factory=dict)
    min_improvement: dict[str, float] = field(factory=dict)
    #: the table or file the gate evaluates candidate and production on
    evaluation_data: str | None = None
    #: how a version reaches a target whose model lives elsewhere (its own catalog or workspace):
    #: shared (one model for all targets), copy (promote copies it from source_target first),
    #: retrain (each environment trains its own; release.yml trains in production)
    across_environments: Literal["shared", "copy", "retrain"] = "shared"
    #: the target versions are copied from (across_environments: copy)
    source_target: str = "staging"

    def _validate(self):
        for slot in ("staging", "production"):
            if slot not in self.aliases:
                return (("aliases",), f"missing the alias for {slot!r}")
        return None


@dataclass
class MetricRule:
    name: str = field(required=True)
    min: float | None = None
    max: float | None = None

    def _validate(self):
        if self.min is None and self.max is None:
            return f"metric {self.name!r} needs min, max or both"
        return None


@dataclass
class WindowsCfg:
    evaluate: int = 1
    violations: int = 1

    def _validate(self):
        if self.evaluate < 1 or self.violations < 1:
            return "evaluate and violations must be at least 1"
        if self.violations > self.evaluate:
            return "violations cannot exceed evaluate"
        return None


_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")


@dataclass
class MonitoringCfg:
    metrics: list[MetricRule] = field(factory=list)
    windows: WindowsCfg = field(factory=WindowsCfg)
    max_retrains: int = 3
    schedule: str = "0 6 * * *"
    #: inside a pipeline, end as SucceededWithIssues instead of failing when the alert fires
    warn_only: bool = False
    #: the notebook (relative to the repo root) that retrains; committed back on improvement
    retrain_notebook: str | None = None
    #: the notebook that checks the metrics (ADF monitoring pipeline)
    check_notebook: str | None = None
    #: ADF retrain pipeline, run in order on improvement (else found by task_key in the job definitions)
    register_notebook: str | None = None
    promote_notebook: str | None = None
    commit_notebook: str | None = None
    score_notebook: str | None = None
    #: ADF retrain pipeline: a notebook that raises the alert after the last failed try
    alert_notebook: str | None = None

    def _validate(self):
        if self.max_retrains < 0:
            return (("max_retrains",), "must be 0 or more")
        parts = self.schedule.split()
        if len(parts) != 5 or not all(_CRON_FIELD.match(p) for p in parts):
            return (("schedule",), f"not a 5-field cron expression: {self.schedule!r}")
        return None


@dataclass
class BotCfg:
    name: str = "mlops-bot"
    email: str = "mlops-bot@users.noreply.dev.azure.com"


@dataclass
class AzureDevOpsCfg:
    organization_url: str | None = None
    project: str | None = None
    repository: str | None = None
    #: `mlops azure-devops setup`
    approvers: list[str] = field(factory=list)
    variable_group: str | None = None
    key_vault: str | None = None
    service_connection: str | None = None
    pipelines_folder: str = "\\"


@dataclass
class ScmCfg:
    branch: str = "main"
    protected: bool = False
    skip_marker: str = "[skip ci]"
    bot: BotCfg = field(factory=BotCfg)
    keep_outputs: bool = False
    remote: str = "origin"
    #: push automation commits (and open pull requests); None: on databricks targets and for
    #: `mlops commit`, not for the local rehearsal (docs/commit.md)
    push: bool | None = None
    azure_devops: AzureDevOpsCfg = field(factory=AzureDevOpsCfg)


@dataclass
class TargetScmCfg:
    #: overrides scm.push on this target
    push: bool | None = None


@dataclass
class AlertCfg:
    kind: Literal["azure-devops-work-item", "teams", "pipeline", "file"] = field(required=True)
    # azure-devops-work-item
    type: str = "Bug"
    area_path: str | None = None
    tags: list[str] = field(factory=list)
    organization_url: str | None = None
    project: str | None = None
    # teams
    url: str | None = None
    # file
    path: str | None = None

    def _validate(self):
        if self.kind == "teams" and not self.url:
            return "a teams alert needs url"
        return None


@dataclass
class TablesCfg:
    #: local: folder of Delta tables (default .mlops/tables); or an abfss:// root
    path: str | None = None
    catalog: str | None = None
    schema: str | None = None
    storage_options: dict[str, str] = field(factory=dict)


@dataclass
class LockCfg:
    #: seconds a command waits for another one holding the target's lock (0: stop at once)
    wait: float = 0.0
    #: seconds a lease lasts without renewal (the holder renews it every ttl/3)
    ttl: float = 120.0
    #: databricks: the workspace folder of the lock (default: .mlops-locks next to the sync root)
    path: str | None = None

    def _validate(self):
        if self.wait < 0:
            return (("wait",), "must be 0 or more")
        if self.ttl < 3:
            return (("ttl",), "must be at least 3 seconds")
        return None


@dataclass
class AdfCfg:
    subscription_id: str | None = None
    resource_group: str | None = None
    factory: str | None = None
    #: managed identity: the Databricks workspace's ARM resource id
    workspace_resource_id: str | None = None
    #: access token from Key Vault instead of MSI
    key_vault_linked_service: str | None = None
    token_secret_name: str | None = None
    existing_cluster_id: str | None = None
    #: prefix of the generated pipeline, linked service and trigger names
    prefix: str = ""
    #: Azure Resource Manager endpoint (sovereign clouds; tests point it at the loopback emulator)
    arm_endpoint: str | None = None


_ENTRY_POINT = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


@dataclass
class EntryPointsCfg:
    """The project's own functions the toolkit calls outside a notebook, as ``module:function``
    (see docs/config.md for what each is called with)."""

    #: (session, batches) -> dict: a batch arrives (extract, prepare, features); `mlops lifecycle`
    ingest: str | None = None
    #: (session, register=True) -> dict: train the first model in process
    train: str | None = None
    #: (session, attempt, eval_batch) -> dict: one retrain try in process (no retrain notebook)
    retrain: str | None = None
    #: (session, batch=None) -> DataFrame: the labelled rows the gate and the retrain loop evaluate on
    evaluation_data: str | None = None
    #: (session) -> dict: the drifts `mlops lifecycle` will meet, and the labels' delay
    scenario: str | None = None

    def _validate(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None and not _ENTRY_POINT.match(value):
                return ((f.name,), f"expected module:function (e.g. my_project.features:build), got {value!r}")
        return None

    def items(self) -> list[tuple[str, str]]:
        return [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self) if getattr(self, f.name)]


@dataclass
class ArtifactsCfg:
    """Where `mlops deploy` uploads the wheels the jobs install (databricks targets)."""

    #: a Unity Catalog volume folder (/Volumes/<catalog>/<schema>/<volume>/...) or a workspace folder
    path: str | None = None
    #: how the toolkit reaches the tasks: a pinned requirement, its own uploaded wheel, or not at all
    toolkit: Literal["pin", "wheel", "none"] = "pin"
    #: false: build and upload nothing, wire nothing (the jobs bring their own libraries)
    enabled: bool = True

    def _validate(self):
        if self.path is not None and not self.path.startswith("/"):
            return (("path",), "must be an absolute path (/Volumes/<catalog>/<schema>/<volume>/... or a workspace folder)")
        if self.path and self.path.startswith("/Volumes/") and len([p for p in self.path.split("/") if p]) < 4:
            return (("path",), "a volume path needs /Volumes/<catalog>/<schema>/<volume>")
        return None


@dataclass
class PackageCfg:
    """The project's own Python package, built as a wheel by `mlops deploy`."""

    #: the folder holding its pyproject.toml, relative to mlops.yaml
    path: str = "."
    #: the distribution name (default: [project].name of that pyproject.toml)
    name: str | None = None
    #: false: the project ships no package of its own
    enabled: bool = True


@dataclass
class Target:
    backend: Literal["local", "databricks"] = "local"
    #: local targets: pandas + deltalake (the default), or a local SparkSession (pyspark)
    engine: Literal["pandas", "spark"] = "pandas"
    default: bool = False
    host: str | None = None
    profile: str | None = None
    workspace_dir: str | None = None
    repo_path: str | None = None
    git_url: str | None = None
    branch: str | None = None
    tag: str | None = None
    compute: dict[str, Any] = field(factory=dict)
    tracking_uri: str | None = None
    registry_uri: str | None = None
    variables: dict[str, Any] = field(factory=dict)
    tables: TablesCfg = field(factory=TablesCfg)
    lock: LockCfg = field(factory=LockCfg)
    adf: AdfCfg = field(factory=AdfCfg)
    #: seconds to keep retrying one request to Databricks or Azure DevOps (429, 503, resets)
    retry_timeout: int | None = None
    artifacts: ArtifactsCfg = field(factory=ArtifactsCfg)
    scm: TargetScmCfg = field(factory=TargetScmCfg)
    #: this target's model, over the project's ``model:`` (e.g. its own Unity Catalog catalog)
    model: TargetModelCfg = field(factory=TargetModelCfg)
    #: filled in by the loader
    name: str = dataclasses.field(default="", init=False)

    def _validate(self):
        if self.retry_timeout is not None and self.retry_timeout < 1:
            return (("retry_timeout",), "must be a number of seconds, 1 or more")
        if self.backend == "databricks" and self.engine != "pandas":
            return (("engine",), "applies to local targets only (a Databricks target always runs on Spark)")
        if self.backend == "databricks":
            if self.workspace_dir and self.repo_path:
                return "give workspace_dir or repo_path, not both"
            if not self.workspace_dir and not self.repo_path:
                return "a databricks target needs workspace_dir (workspace mode) or repo_path (Git folder mode)"
            if self.repo_path and not (self.branch or self.tag):
                return "a Git folder target (repo_path) needs branch or tag"
            if self.branch and self.tag:
                return "give branch or tag, not both"
            for key in ("workspace_dir", "repo_path"):
                value = getattr(self, key)
                if value and not value.startswith("/"):
                    return ((key,), "must be an absolute workspace path (starting with /)")
        return None


@dataclass
class Config:
    project: str = field(required=True)
    notebooks: str = "notebooks"
    jobs: str = "resources"
    #: a Databricks Asset Bundle file (relative to mlops.yaml) whose name, variables and includes job files use
    bundle: str | None = None
    model: ModelCfg = field(required=True)
    lint: LintCfg = field(factory=LintCfg)
    test: TestCfg = field(factory=TestCfg)
    variables: dict[str, Any] = field(factory=dict)
    targets: dict[str, Target] = field(factory=lambda: {"local": Target()})
    promotion: PromotionCfg = field(factory=PromotionCfg)
    monitoring: MonitoringCfg = field(factory=MonitoringCfg)
    scm: ScmCfg = field(factory=ScmCfg)
    alerts: list[AlertCfg] = field(factory=list)
    #: the project's own settings, handed to its code as ``session.data`` (the toolkit reads none of them)
    data: dict[str, Any] = field(factory=dict)
    #: folders (relative to this file) put first on sys.path: local kernels and entry points import from them
    python_path: list[str] = field(factory=lambda: ["src"])
    entry_points: EntryPointsCfg = field(factory=EntryPointsCfg)
    package: PackageCfg = field(factory=PackageCfg)
    #: filled in by the loader
    path: Path = dataclasses.field(default=Path(CONFIG_NAME), init=False)
    unresolved: dict[tuple, tuple[str, int | None]] = dataclasses.field(default_factory=dict, init=False)
    #: key path -> line in mlops.yaml (for messages that name a key's line)
    lines: dict[tuple, int] = dataclasses.field(default_factory=dict, init=False, repr=False)

    def _validate(self):
        if not self.targets:
            return (("targets",), "define at least one target")
        defaults = [n for n, t in self.targets.items() if t.default]
        if len(defaults) > 1:
            return (("targets",), "more than one target has default: true: " + ", ".join(defaults))
        return None

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def notebooks_dir(self) -> Path:
        return self.root / self.notebooks

    @property
    def jobs_dir(self) -> Path:
        return self.root / self.jobs

    @property
    def state_dir(self) -> Path:
        return self.root / ".mlops"

    def line(self, *path: str) -> int | None:
        """The line of ``path`` in mlops.yaml, or of its nearest ancestor that is written there."""
        return line_of(self.lines, tuple(path))

    def for_target(self, target: Target) -> "Config":
        """This configuration as ``target`` sees it: ``model:`` with the target's ``model:`` over it and
        ``${var.*}`` resolved in the model's name. ConfigError (exit 2, naming the line) for an unknown
        variable, or for a name that is not ``catalog.schema.model`` where the registry is Unity Catalog."""
        overrides = {k: v for k, v in dataclasses.asdict(target.model).items() if v is not None}
        where = ("targets", target.name, "model", "name") if target.model.name else ("model", "name")
        model = dataclasses.replace(self.model, **overrides) if overrides else self.model
        if "${var." in model.name:
            variables = {**self.variables, **target.variables}

            def var(match: re.Match) -> str:
                if match.group(1) not in variables:
                    raise ConfigError(f"{dotted(where)}: no variable {match.group(1)!r} (variables: "
                                      f"{', '.join(sorted(variables)) or 'none'})", path=self.path, line=self.line(*where))
                return str(variables[match.group(1)])

            model = dataclasses.replace(model, name=_VAR_REF.sub(var, model.name))
        if is_uc_registry(target.registry_uri) and (model.name.count(".") != 2 or "" in model.name.split(".")):
            raise ConfigError(f"{dotted(where)}: {model.name!r} is not a Unity Catalog model name: target "
                              f"{target.name!r} registers in Unity Catalog ({target.registry_uri}), which names a "
                              "model <catalog>.<schema>.<model>", path=self.path, line=self.line(*where))
        if model is self.model:
            return self
        view = dataclasses.replace(self, model=model)
        view.path, view.unresolved, view.lines = self.path, self.unresolved, self.lines
        return view

    def target(self, name: str | None = None) -> Target:
        """The target named, else the one with default: true, else 'local'."""
        if name is None:
            name = next((n for n, t in self.targets.items() if t.default), None)
            if name is None:
                name = "local" if "local" in self.targets else next(iter(self.targets))
        if name not in self.targets:
            raise UsageError(
                f"no target {name!r} in {self.path.name} (targets: {', '.join(self.targets)})", path=self.path
            )
        for keypath, (var, line) in self.unresolved.items():
            if keypath[:2] == ("targets", name) or keypath[:1] != ("targets",):
                raise ConfigError(
                    f"{dotted(keypath)}: environment variable {var} is not set (and no ${{{var}:-default}})",
                    path=self.path,
                    line=line,
                )
        return self.targets[name]


def _substitute(value: Any, path: tuple, lines, unresolved: dict) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, path + (k,), lines, unresolved) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, path + (i,), lines, unresolved) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def repl(match: re.Match) -> str:
        var, default = match.group(1), match.group(2)
        env = os.environ.get(var)
        if env is not None and env != "":
            console.register_secret(env)
            return env
        if default is not None:
            return default
        unresolved[path] = (var, line_of(lines, path))
        return ""

    return _ENV_REF.sub(repl, value)


def load_config(path: str | Path | None = None) -> Config:
    cfg_path = Path(path) if path else find_config()
    data, lines = load_with_lines(cfg_path)
    source = str(cfg_path)
    if data is None:
        raise InputError("the file is empty", path=source, line=1)
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping", path=source, line=1)
    unresolved: dict = {}
    data = _substitute(data, (), lines, unresolved)
    cfg: Config = build(Config, data, (), lines, source)
    cfg.path = cfg_path.resolve()
    cfg.unresolved = unresolved
    cfg.lines = dict(lines)
    for name, target in cfg.targets.items():
        target.name = name
    return cfg
