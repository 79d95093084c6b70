"""`mlops doctor`: whether a target is ready (host, identity, folders, volume, catalog, registry)."""

from __future__ import annotations

import click

from . import pass_state


@click.command("doctor")
@pass_state
def command(state):
    """Check that the target is ready for a release: one line per check, with the fix. Writes nothing."""
    from ..errors import CheckFailed
    from ..ops.doctor import doctor

    ctx = state.context()
    result = doctor(ctx)
    ctx.console.result(result.to_dict(), result.lines)
    if not result.ok:
        failed = sum(1 for c in result.checks if c.status == "failed")
        raise CheckFailed(f"target {ctx.target.name}: {failed} check(s) failed", reported=True)
