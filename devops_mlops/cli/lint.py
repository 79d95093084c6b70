"""mlops lint [PATH...] [--junit FILE] [--select CODES] [--ignore CODES] [--fix]

The click command; a plain command line runs the same body without click (cli/lint_fast.py).
"""

from __future__ import annotations

from pathlib import Path

import click

from . import State, pass_state


@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--junit", "junit", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML here.")
@click.option("--select", help="Comma-separated codes or prefixes to check (replaces the configured select).")
@click.option("--ignore", help="Comma-separated codes or prefixes to skip (added to the configured ignore).")
@click.option("--fix", is_flag=True, help="Strip committed outputs and execution counts from .ipynb files.")
@pass_state
def command(state: State, paths: tuple[Path, ...], junit: Path | None, select: str | None, ignore: str | None,
            fix: bool) -> None:
    """Lint notebooks (default: the configured notebooks folder)."""
    from .lint_fast import run

    run(state, paths, junit, select, ignore, fix)
