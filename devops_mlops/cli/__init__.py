"""The `mlops` command line: global options, lazy subcommands, one error handler.

Each subcommand lives in its own module (``devops_mlops.cli.<name>``) exposing a
click command called ``command``; it is imported only when it runs, so
``mlops --help`` stays fast. This module imports no click: the click application is
``cli/app.py`` (its names are reachable from here too), and a plain ``mlops lint`` command
line runs without it (``cli/lint_fast.py``). The registry of commands and the state of the
global options are in ``cli/state.py``, which all three read.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ..errors import MlopsError
from .state import COMMANDS, State

__all__ = ["COMMANDS", "State", "main"]

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
