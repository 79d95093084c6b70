"""What every `mlops` command line shares, without click: the registry of commands (the name, the
module that defines it, the line `mlops --help` shows) and the state of the global options.

The entry point (``cli/__init__.py``), the click application (``cli/app.py``) and the click-free
`mlops lint` path (``cli/lint_fast.py``) all read these; none of them imports another for it.
"""

from __future__ import annotations

#: command name -> (module, one-line help shown by `mlops --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "lint": ("lint", "Lint notebooks: Python via ruff, %run targets, secrets, outputs."),
    "test": ("test", "Run notebooks as tests in local kernels or as Databricks runs."),
    "sync": ("sync", "Sync notebooks to the target's workspace or Git folder."),
    "deploy": ("deploy", "Create or update the target's jobs from the job definitions."),
    "run": ("run", "Run a job now and wait for it."),
    "model": ("model", "Registered model: status, validate, promote, rollback."),
    "infer": ("infer", "Score new batches with the production model into the predictions table."),
    "monitor": ("monitor", "Record monitoring metrics, check them, retrain when out of range."),
    "lifecycle": ("lifecycle", "Run the whole MLOps lifecycle end to end (the main job)."),
    "report": ("report", "Write an HTML report with a chart of the monitoring metrics."),
    "commit": ("commit", "Commit notebooks back to the repository (auto-commit, pull requests)."),
    "pipelines": ("pipelines", "Validate the Azure Pipelines YAML."),
    "adf": ("adf", "Export or deploy the lifecycle as Azure Data Factory pipelines."),
    "init": ("init", "Scaffold a new devops-mlops project."),
    "azure-devops": ("azure_devops", "Wire the project into Azure DevOps (pipelines, environments, policies)."),
    "doctor": ("doctor", "Check that a target is ready: host, identity, folders, volume, catalog, registry."),
}


class State:
    """What the global options chose; commands turn it into a Context."""

    def __init__(self, config: str | None, target: str | None, dry_run: bool, fmt: str, verbose: bool,
                 timeout: float | None = None):
        self.timeout = timeout
        self.config_path = config
        self.target_name = target
        self.dry_run = dry_run
        self.fmt = fmt
        self.verbose = verbose
        self._context = None

    def context(self, need_config: bool = True):
        """The run context (config, target, adapters), built once."""
        from ..context import Context

        if self._context is None:
            self._context = Context.create(
                config_path=self.config_path,
                target=self.target_name,
                dry_run=self.dry_run,
                fmt=self.fmt,
                verbose=self.verbose,
                need_config=need_config,
                timeout=self.timeout,
            )
        return self._context

    @property
    def console(self):
        from ..console import Console

        return Console(self.fmt, self.verbose)
