"""`mlops report`: an HTML page and a PNG chart of the monitoring metrics."""

from __future__ import annotations

import click

from . import pass_state


@click.command("report")
@click.option("--output", "-o", metavar="DIR", help="Folder for index.html and metrics.png (default .mlops/report).")
@pass_state
def command(state, output):
    """Write an HTML report with a chart of the monitoring metrics (thresholds and retrains marked)."""
    from ..ops.report import write_report

    ctx = state.context()
    result = write_report(ctx, output=output)
    ctx.console.result(result.to_dict(), result.lines)
