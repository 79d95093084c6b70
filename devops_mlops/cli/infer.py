"""`mlops infer`: score new batches with the production model into the predictions table."""

from __future__ import annotations

import click

from . import pass_state


@click.command("infer")
@click.option(
    "--batch",
    "batches",
    multiple=True,
    type=click.IntRange(min=0),
    metavar="N",
    help="Score (again) this batch (repeatable). Default: every batch not scored yet.",
)
@click.option("--version", type=click.IntRange(min=1), metavar="N", help="Model version (default: production).")
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1000),
    default=250_000,
    show_default=True,
    help="Rows scored at a time (memory stays flat as batches grow).",
)
@pass_state
def command(state, batches, version, chunk_rows):
    """Score new batches with the production model into the predictions table."""
    from ..ops.infer import infer
    from ..ops.lock import exclusive

    ctx = state.context()
    with exclusive(ctx, "mlops infer"):
        result = infer(ctx, batches=list(batches) or None, version=version, chunk_rows=chunk_rows)
    ctx.console.result(result.to_dict(), lambda: [result.summary()])
