"""`mlops monitor`: record the monitoring metrics, check them, retrain when out of range."""

from __future__ import annotations

import click

from . import pass_state, push_option


@click.command("monitor")
@click.option(
    "--max-retrains",
    type=click.IntRange(min=0),
    metavar="N",
    help="At most N retraining tries (default: monitoring.max_retrains).",
)
@click.option(
    "--retrainer",
    type=click.Choice(["auto", "job", "notebook", "in-process"]),
    default="auto",
    show_default=True,
    help="How a try runs: the retrain job (databricks), the retrain notebook in a "
    "local kernel, or the same library call in this process.",
)
@push_option
@pass_state
def command(state, push, max_retrains, retrainer):
    """Record the monitoring metrics, check them, retrain (at most N tries) when out of range."""
    from ..ops.lock import exclusive
    from ..ops.monitor import monitor, raise_if_failed
    from ..ops.retrain import retrainer_for

    ctx = state.context()
    ctx.push = push

    def progress(event):
        if event["event"] == "finished":
            ctx.console.progress(f"try {event['attempt']}: {event['outcome']}")

    with exclusive(ctx, "mlops monitor"):
        result = monitor(ctx, max_retrains=max_retrains, retrainer=retrainer_for(ctx, retrainer), on_event=progress)
    ctx.console.result(result.to_dict(), result.lines)
    raise_if_failed(result)
