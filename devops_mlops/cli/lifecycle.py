"""`mlops lifecycle`: the whole MLOps lifecycle end to end on a target (the main job)."""

from __future__ import annotations

import click

from . import pass_state, push_option


@click.command("lifecycle")
@click.option("--keep-state", is_flag=True, help="Do not reset the local .mlops state first (local target).")
@click.option(
    "--retrainer",
    type=click.Choice(["auto", "job", "notebook", "in-process"]),
    default="auto",
    show_default=True,
    help="How each retrain try runs (see `mlops monitor --help`).",
)
@click.option("--fresh-kernels", is_flag=True,
              help="A new kernel for every notebook (default: a kernel that ran a passing notebook runs the next).")
@push_option
@pass_state
def command(state, push, keep_state, retrainer, fresh_kernels):
    """Run lint, test, sync, deploy, train, validate, promote, infer, then monitoring with a drift
    retraining fixes and one it cannot; exit 0 when every step behaved as designed."""
    from ..errors import CheckFailed
    from ..ops.lifecycle import run_lifecycle
    from ..ops.lock import exclusive
    from ..ops.retrain import retrainer_for

    ctx = state.context()
    ctx.push = push
    with exclusive(ctx, "mlops lifecycle"):
        result = run_lifecycle(ctx, fresh=not keep_state, retrainer=retrainer_for(ctx, retrainer), reuse=not fresh_kernels)
    ctx.console.result(result.to_dict(), result.lines)
    if not result.ok:
        bad = [s.name for s in result.steps if not s.ok] + [e["what"] for e in result.expectations if not e["ok"]]
        raise CheckFailed("the lifecycle did not behave as designed: " + "; ".join(bad))
