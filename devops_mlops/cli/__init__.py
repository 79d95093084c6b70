"""The `mlops` command line: global options, lazy subcommands, one error handler.

Each subcommand lives in its own module (``devops_mlops.cli.<name>``) exposing a
click command called ``command``; it is imported only when it runs, so
``mlops --help`` stays fast. This module imports no click: the click application is
``cli/app.py`` (its names are reachable from here too), and a plain ``mlops lint`` command
line runs without it (``cli/lint_fast.py``).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ..errors import MlopsError

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



#: names of the click application (cli/app.py), imported when first asked for
_APP_NAMES = ("LazyGroup", "load_command", "with_dry_run", "push_option", "cli", "pass_state", "plan_only",
              "print_planned", "DRY_RUN_HELP")


def __getattr__(name: str) -> Any:
    if name in _APP_NAMES:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _report(exc: MlopsError, verbose: bool, fmt: str) -> None:
    from ..console import in_pipeline, mask, vso_command

    if exc.reported:
        return
    line = mask(exc.one_line())
    prefix = "error" if exc.exit_code != 1 else "failed"
    print(f"{prefix}: {line}", file=sys.stderr)
    if in_pipeline():
        print(
            vso_command(
                "task.logissue",
                exc.message + (f" ({exc.hint})" if exc.hint else ""),
                type="error",
                sourcepath=exc.path,
                linenumber=exc.line,
            )
        )


def main(argv: list[str] | None = None) -> Any:
    """Entry point: runs the CLI and maps every outcome to an exit code."""
    args = sys.argv[1:] if argv is None else argv
    verbose = "-v" in args or "--verbose" in args
    fmt = "json" if ("--format=json" in args or _pair(args, "--format", "json")) else "text"
    try:
        from .lint_fast import parse

        fast = parse(args)
        if fast is not None:  # a plain `mlops lint` line: no click
            from ..console import setup_logging
            from .lint_fast import run

            setup_logging(fast.verbose)
            try:
                run(fast.state(), fast.paths, fast.junit, fast.select, fast.ignore, fast.fix)
            except MlopsError as exc:
                _report(exc, verbose, fmt)
                _leave(exc.exit_code, argv is None)
            _leave(0, argv is None)
        else:
            from . import app

            app.run(args)
    except MlopsError as exc:
        _report(exc, verbose, fmt)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:  # a bug
        import traceback

        from ..console import mask

        if verbose:
            print(mask(traceback.format_exc()), file=sys.stderr)
        print(
            mask(f"internal error: {type(exc).__name__}: {exc} (a bug in mlops; rerun with -v for the traceback)"),
            file=sys.stderr,
        )
        sys.exit(3)
    sys.exit(0)


def _leave(code: int, hard: bool) -> None:
    """Exit with ``code``; ``hard`` (the `mlops` process itself, after a lint run that left no
    files open and no thread or child running): skip the interpreter's teardown, which frees
    every object one by one (a tenth of a run over a thousand notebooks); only the standard
    streams need flushing then."""
    if hard:
        import logging

        logging.shutdown()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            code = 1
        os._exit(code)
    sys.exit(code)


def _pair(args: list[str], flag: str, value: str) -> bool:
    return any(a == flag and b == value for a, b in zip(args, args[1:]))
