"""`mlops adf export` / `mlops adf deploy`: the lifecycle as Azure Data Factory pipelines."""

from __future__ import annotations

import click

from . import pass_state


@click.group(name="adf")
def command() -> None:
    """Export or deploy the lifecycle as Azure Data Factory pipelines (see docs/adf.md)."""


@command.command("export")
@click.option("--out", metavar="DIR", type=click.Path(file_okay=False),
              help="Folder to write (default: adf/<target> next to mlops.yaml).")
@click.option("--no-monitoring", is_flag=True, help="Only the job pipelines, no monitoring/retrain pipelines.")
@pass_state
def export_cmd(state, out, no_monitoring) -> None:
    """Write pipeline/, linkedService/, trigger/ JSON (Git integration layout) and an ARM template."""
    from ..adf.files import export

    ctx = state.context()
    result = export(ctx, out, monitoring=not no_monitoring)
    for w in result.warnings:
        ctx.console.warn(w)
    result.warnings = result.warnings if ctx.console.json else []
    ctx.console.result(result.doc(), result.lines)


@command.command("deploy")
@click.option("--no-monitoring", is_flag=True, help="Only the job pipelines, no monitoring/retrain pipelines.")
@pass_state
def deploy_cmd(state, no_monitoring) -> None:
    """Create or update the resources in the target's factory (adf: subscription_id, resource_group, factory)."""
    from ..adf.deploy import deploy

    ctx = state.context()
    result = deploy(ctx, monitoring=not no_monitoring)
    for w in result.warnings:
        ctx.console.warn(w)
    result.warnings = result.warnings if ctx.console.json else []
    ctx.console.result(result.doc(), result.lines)
