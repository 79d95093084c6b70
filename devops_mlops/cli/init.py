"""mlops init [DIR] [--name NAME] [--force]"""

from __future__ import annotations

from pathlib import Path

import click

from . import State, pass_state


@click.command("init")
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", help="Project name (default: the folder's name).")
@click.option("--force", is_flag=True, help="Overwrite files that exist with other content.")
@pass_state
def command(state: State, directory: Path, name: str | None, force: bool) -> None:
    """Scaffold a working devops-mlops project in DIR (default: here)."""
    from ..console import Console
    from ..ops.init import init_project

    console = Console(state.fmt, state.verbose)
    result = init_project(directory, name=name, force=force, dry_run=state.dry_run)

    def render():
        verb = "would write" if state.dry_run else "wrote"
        for rel in result.written:
            yield f"{verb} {rel}"
        if not result.written:
            yield f"nothing to do: {result.root} is already set up ({len(result.unchanged)} file(s) unchanged)"
        elif result.unchanged:
            yield f"{len(result.unchanged)} file(s) already up to date"
        if result.git_initialised:
            yield "initialised a git repository"
        if result.written and not state.dry_run:
            yield "next: mlops lint && mlops test && mlops lifecycle (see README.md)"

    console.result(result.to_json(), render)
