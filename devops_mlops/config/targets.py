"""A target of mlops.yaml (``targets:``): where the lifecycle runs (local or a Databricks workspace)
and what it changes of the project's settings: its tables, lock, Data Factory, artifacts, model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from ..schema import field

def is_uc_registry(uri: str | None) -> bool:
    """Whether a registry URI names Unity Catalog (``databricks-uc``, with or without a profile)."""
    return bool(uri) and uri.split(":", 1)[0] == "databricks-uc"


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


@dataclass
class TargetScmCfg:
    """A target's ``scm:``: what it changes of the project's."""

    #: overrides scm.push on this target
    push: bool | None = None


@dataclass
class TablesCfg:
    """A target's ``tables:``: where its Delta tables live (a folder, a storage root or a catalog)."""

    #: local: folder of Delta tables (default .mlops/tables); or an abfss:// root
    path: str | None = None
    catalog: str | None = None
    schema: str | None = None
    storage_options: dict[str, str] = field(factory=dict)


@dataclass
class LockCfg:
    """A target's ``lock:``: how long a command waits for the target's lock and how long a lease lasts."""

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
    """A target's ``adf:``: the Data Factory `mlops adf` exports to and how it reaches Databricks."""

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
class Target:
    """One entry of ``targets:``; ``name`` is its key there."""

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
