"""The run context: config, target, output, and the adapters for the target.

Adapters are built once, on first use (so a command that never touches the
registry never imports mlflow). Tests replace them by assigning the attribute
(``ctx.workspace = FakeWorkspace()``) before use.
"""

from __future__ import annotations

import importlib
from functools import cached_property
from pathlib import Path
from typing import Any

from .config import Config, Target, load_config
from .console import Console

#: port -> backend -> "module:factory"; each factory takes the Context
ADAPTERS: dict[str, dict[str, str]] = {
    "workspace": {
        "local": "devops_mlops.adapters.local.workspace:from_context",
        "databricks": "devops_mlops.adapters.databricks.workspace:from_context",
    },
    "jobs": {
        "local": "devops_mlops.adapters.local.jobs:from_context",
        "databricks": "devops_mlops.adapters.databricks.jobs:from_context",
    },
    "registry": {
        "local": "devops_mlops.adapters.mlflow_registry:from_context",
        "databricks": "devops_mlops.adapters.mlflow_registry:from_context",
    },
    "tables": {
        "local": "devops_mlops.adapters.local.tables:from_context",
        "databricks": "devops_mlops.adapters.spark.tables:from_context",
        # a local target with `engine: spark`
        "spark": "devops_mlops.adapters.spark.tables:from_context",
    },
    "git": {
        "local": "devops_mlops.adapters.local.git:from_context",
        "databricks": "devops_mlops.adapters.local.git:from_context",
    },
    "githost": {
        "local": "devops_mlops.adapters.azure.git_host:from_context",
        "databricks": "devops_mlops.adapters.azure.git_host:from_context",
    },
    "alerts": {
        "local": "devops_mlops.adapters.alerts:from_context",
        "databricks": "devops_mlops.adapters.alerts:from_context",
    },
    "devops_admin": {
        "local": "devops_mlops.adapters.azure.admin:from_context",
        "databricks": "devops_mlops.adapters.azure.admin:from_context",
    },
    "artifacts": {
        "local": "devops_mlops.adapters.local.artifacts:from_context",
        "databricks": "devops_mlops.adapters.databricks.artifacts:from_context",
    },
    "diagnostics": {
        "local": "devops_mlops.adapters.local.diagnostics:from_context",
        "databricks": "devops_mlops.adapters.databricks.diagnostics:from_context",
    },
}

#: ports of commands that also run without mlops.yaml (`mlops lint`, `mlops pipelines validate`):
#: port -> "module:factory"; the factory takes the config (or None) and reads the rest from the environment
CONFIG_ADAPTERS: dict[str, str] = {
    "pull_requests": "devops_mlops.adapters.azure.pull_request:from_config",
    "pipeline_preview": "devops_mlops.adapters.azure.pipeline_preview:from_config",
}


def for_config(port: str, config: Config | None = None) -> Any:
    """The adapter of ``port`` (a key of CONFIG_ADAPTERS) for ``config``, or for the environment alone."""
    module_name, factory = CONFIG_ADAPTERS[port].split(":")
    return getattr(importlib.import_module(module_name), factory)(config)


#: the local repository of a folder that has no project yet ("module:factory"; the factory takes the folder)
REPOSITORY_AT = "devops_mlops.adapters.local.git:at_folder"


def repository_at(folder: Path) -> Any:
    """The local repository port (ports.git.Repository) of ``folder``, for `mlops init`, which has no config."""
    module_name, factory = REPOSITORY_AT.split(":")
    return getattr(importlib.import_module(module_name), factory)(folder)


def _build(port: str, ctx: "Context") -> Any:
    choices = ADAPTERS[port]
    engine = getattr(ctx.target, "engine", "pandas")
    spec = choices[engine] if engine in choices else choices[ctx.target.backend]
    module_name, factory = spec.split(":")
    return getattr(importlib.import_module(module_name), factory)(ctx)


class Context:
    def __init__(self, config: Config, target: Target, *, dry_run: bool = False, fmt: str = "text",
                 verbose: bool = False, timeout: float | None = None):
        #: mlops.yaml as written; ``config`` is it as this target sees it (its model over the project's)
        self.project_config = config
        self.config = config.for_target(target)
        self.target = target
        self.dry_run = dry_run
        #: --timeout: seconds of retrying an outside service (over the target's retry_timeout)
        self.timeout = timeout
        #: --push (True) / --no-push (False) of the command; None: the config decides (core.push_policy)
        self.push: bool | None = None
        self.console = Console(fmt, verbose)

    @classmethod
    def create(
        cls,
        *,
        config_path: str | Path | None = None,
        target: str | None = None,
        dry_run: bool = False,
        fmt: str = "text",
        verbose: bool = False,
        need_config: bool = True,
        timeout: float | None = None,
    ) -> "Context":
        config = load_config(config_path)
        return cls(config, config.target(target), dry_run=dry_run, fmt=fmt, verbose=verbose, timeout=timeout)

    def for_target(self, name: str) -> "Context":
        """A context of the same project and options for another target (``--from``)."""
        other = Context(self.project_config, self.project_config.target(name), dry_run=self.dry_run,
                        timeout=self.timeout)
        other.console = self.console
        return other

    @property
    def root(self) -> Path:
        return self.config.root

    @property
    def state_dir(self) -> Path:
        """Local state for this target: .mlops/ next to mlops.yaml."""
        return self.config.state_dir

    @cached_property
    def workspace(self):
        return _build("workspace", self)

    @cached_property
    def jobs(self):
        return _build("jobs", self)

    @cached_property
    def registry(self):
        return _build("registry", self)

    @cached_property
    def tables(self):
        return _build("tables", self)

    @cached_property
    def git(self):
        return _build("git", self)

    @cached_property
    def githost(self):
        return _build("githost", self)

    @cached_property
    def alerts(self):
        return _build("alerts", self)

    @cached_property
    def devops_admin(self):
        return _build("devops_admin", self)

    @cached_property
    def artifacts(self):
        return _build("artifacts", self)

    @cached_property
    def diagnostics(self):
        return _build("diagnostics", self)
