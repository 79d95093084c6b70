"""`mlops pipelines validate [FILE...] [--remote]`."""

from __future__ import annotations

import click

from . import pass_state


@click.group("pipelines")
def command() -> None:
    """Validate the Azure Pipelines YAML."""


def _config(state):
    """The config when there is one: validate works without mlops.yaml."""
    from ..config import find_config, load_config
    from ..errors import ConfigError, UsageError

    if state.config_path:
        return load_config(state.config_path)
    try:
        path = find_config()
    except UsageError:
        return None
    try:
        return load_config(path)
    except ConfigError as exc:
        state.console.warn(f"{exc.one_line()} (validating without the config)")
        return None


@command.command("validate")
@click.argument("files", nargs=-1, type=click.Path())
@click.option("--remote", is_flag=True, help="Also compile the pipelines with the Azure DevOps preview API.")
@click.option("--pipeline-id", type=int, metavar="ID",
              help="With --remote: the pipeline definition to preview against (default: the one using each file).")
@pass_state
def validate_cmd(state, files, remote, pipeline_id):
    """Check pipelines and templates (default: azure-pipelines/) against the Azure Pipelines
    schema and our rules (secrets through env:, JUnit published, loop guards, mlops command lines)."""
    from ..context import for_config
    from ..errors import CheckFailed, InputError
    from ..ops.pipeline_preview import preview_remote
    from ..ops.pipelines import discover, settings_from_config, validate
    from .command_lines import check_command

    console = state.console
    config = _config(state)
    root = config.root if config is not None else None
    result = validate(list(files), check_command=check_command, settings=settings_from_config(config), root=root)
    if remote:
        result.remote, found = preview_remote(discover(list(files), root), for_config("pipeline_preview", config),
                                              pipeline_id=pipeline_id)
        result.findings.extend(found)
        if result.remote["status"] == "skipped":
            console.progress(f"remote preview skipped: {result.remote['reason']}")
    everything = result.unreadable + result.findings
    for f in everything:
        console.logissue(f.severity, f.message, path=f.path, line=f.line, column=f.column, code=f.code)
    errors = result.errors
    warnings = len(everything) - len(errors)

    def render():
        for f in everything:
            where = f"{f.path}:{f.line}" if f.line else f.path
            yield f"{where}: {f.code} {'warning: ' if f.severity == 'warning' else ''}{f.message}"
        remote_note = f"; remote preview {result.remote['status']}" if remote else ""
        warning_note = f" and {warnings} warning(s)" if warnings else ""
        yield f"{len(result.files)} file(s), {len(errors)} finding(s){warning_note}{remote_note}"

    console.result(result.to_dict(), render)
    if result.unreadable:
        first = result.unreadable[0]
        raise InputError(first.message, path=first.path, line=first.line)
    if errors:
        raise CheckFailed(f"{len(errors)} finding(s) in the pipelines")
