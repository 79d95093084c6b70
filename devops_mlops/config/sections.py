"""The sections of mlops.yaml that hold for the whole project: the model, lint, test, promotion,
monitoring, source control, alerts, entry points and package. docs/config.md documents every key.

Each section is a dataclass built and checked by :func:`devops_mlops.schema.build`; a
``_validate`` method returns the message (and key path) of a value the types alone allow.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Literal

from ..schema import field


@dataclass
class ModelCfg:
    """``model:``: the model, the columns it reads and predicts, the metric it is judged on."""

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
class LintCfg:
    """``lint:``: the rules `mlops lint` selects and ignores, and the paths it skips."""

    select: list[str] = field(factory=list)
    ignore: list[str] = field(factory=list)
    exclude: list[str] = field(factory=list)


@dataclass
class TestCfg:
    """``test:``: which notebooks are tests, their timeout, how many run at once."""

    patterns: list[str] = field(factory=lambda: ["test_*", "*_test"])
    timeout: int = 600
    jobs: int | None = None


@dataclass
class Bound:
    """A metric's allowed range: a minimum, a maximum or both."""

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
    """``promotion:``: how versions are marked (aliases or stages) and the gate a candidate passes."""

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
    """One metric ``monitoring:`` watches and the range it must stay in."""

    name: str = field(required=True)
    min: float | None = None
    max: float | None = None

    def _validate(self):
        if self.min is None and self.max is None:
            return f"metric {self.name!r} needs min, max or both"
        return None


@dataclass
class WindowsCfg:
    """A metric is out of range when it breaks its rule in ``violations`` of the last ``evaluate`` windows."""

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
    """``monitoring:``: the rules, the retrain loop's limits, its schedule and its notebooks."""

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
    """The author of automation commits."""

    name: str = "mlops-bot"
    email: str = "mlops-bot@users.noreply.dev.azure.com"


@dataclass
class AzureDevOpsCfg:
    """``scm: azure_devops:``: the organization, project and repository, and what `setup` creates."""

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
    """``scm:``: the branch automation commits to, how they are marked and whether they are pushed."""

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
class AlertCfg:
    """One entry of ``alerts:``: a work item, a Teams message, a pipeline warning or a file."""

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
class PackageCfg:
    """The project's own Python package, built as a wheel by `mlops deploy`."""

    #: the folder holding its pyproject.toml, relative to mlops.yaml
    path: str = "."
    #: the distribution name (default: [project].name of that pyproject.toml)
    name: str | None = None
    #: false: the project ships no package of its own
    enabled: bool = True
