"""mlops lint [PATH...] [--junit FILE] [--select CODES] [--ignore CODES] [--fix]"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import CheckFailed, UsageError
from . import State, pass_state


def _codes(value: str | None) -> list[str]:
    return [c.strip().upper() for c in (value or "").split(",") if c.strip()]


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
    from ..config import load_config
    from ..console import Console
    from ..ops.lint import junit_suites, lint_paths

    console = Console(state.fmt, state.verbose)
    config = None
    try:
        config = load_config(state.config_path)
    except UsageError:
        if not paths:
            raise
    targets = list(paths) or [config.notebooks_dir]
    cfg_select = config.lint.select if config else []
    cfg_ignore = config.lint.ignore if config else []
    result = lint_paths(
        targets,
        select=_codes(select) or cfg_select or None,
        ignore=cfg_ignore + _codes(ignore),
        exclude=config.lint.exclude if config else None,
        fix=fix and not state.dry_run,
        root=config.root if config else Path.cwd(),
    )
    for f in result.findings:
        console.logissue(
            "error" if f.severity == "error" else "warning",
            f"{f.code} {f.message}",
            path=f.path,
            line=f.line,
            column=f.column,
            code=f.code,
        )
    if junit:
        from ..core.junit import write_junit

        write_junit(junit, junit_suites(result), name="mlops lint")

    def render():
        for f in result.findings:
            yield f"{f.where()}: {f.code} {f.message}"
        if result.fixed:
            yield f"Fixed {result.fixed} finding(s)."
        if result.findings:
            fixable = sum(1 for f in result.findings if f.fixable)
            extra = f" ({fixable} fixable with --fix)" if fixable else ""
            yield f"Found {len(result.findings)} finding(s) in {len({f.path for f in result.findings})} file(s){extra}."
        else:
            yield f"All checks passed ({len(result.files)} file(s))."

    console.result(result.to_json(), render)
    from ..ops import pr_feedback

    if pr_feedback.wanted():
        pr_feedback.report(console, "lint", result.to_json(), config=config, findings=result.findings,
                           files=result.files)
    if result.findings:
        raise CheckFailed(f"{len(result.findings)} lint finding(s)", reported=True)
