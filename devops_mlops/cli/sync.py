"""`mlops sync`: notebooks to the target's workspace folder or Git folder."""

from __future__ import annotations

from pathlib import Path

import click

from . import pass_state, plan_only, print_planned

_SYMBOL = {"create": "+", "update": "~", "delete": "-", "conflict": "!", "stale": "?", "unmanaged": "?"}


@click.command("sync")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--prune", is_flag=True, help="Delete what mlops synced earlier and is no longer in the repo.")
@click.option("--force", is_flag=True, help="Overwrite objects changed in the workspace since the last sync.")
@click.option("--commit", metavar="SHA", help="Git folder mode: the commit the folder must be at "
              "(default: $BUILD_SOURCEVERSION).")
@click.option("--workers", type=click.IntRange(1, 64), default=16, show_default=True, help="Concurrent uploads.")
@click.option("--plan-out", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="Write the plan to FILE (and FILE.md) for review; change nothing.")
@click.option("--plan", "plan_in", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="Apply exactly the plan in FILE; refused when the target changed since.")
@pass_state
def command(state, paths, prune, force, commit, workers, plan_out, plan_in):
    """Sync notebooks to the target's workspace folder or Git folder (PATH...: only that part of the
    notebooks folder; nothing outside it is touched or pruned)."""
    from ..errors import CheckFailed
    from ..ops import plan_apply
    from ..ops.sync import sync
    from ..ops.sync_scope import sync_scope

    ctx = state.context()
    if plan_in:
        plan_only(plan_in, plan_out=plan_out, PATH=paths, **{"--prune": prune, "--force": force, "--commit": commit})
        result = plan_apply.apply_sync(ctx, plan_in, workers=workers)
    else:
        ctx.dry_run = ctx.dry_run or bool(plan_out)
        scope = sync_scope(ctx.config, list(paths))
        result = sync(ctx, prune=prune, force=force, commit=commit, workers=workers, scope=scope)

    def render():
        head = "plan" if result.dry_run else "synced"
        if result.mode == "git_folder":
            g = result.git
            ref = g.get("branch") or g.get("tag")
            verb = g.get("action")
            if result.dry_run:
                yield f"plan: {verb} Git folder {g['path']} and pull {ref} (now at {g.get('head_before') or '-'})"
            else:
                yield f"Git folder {g['path']} ({verb}d) at {g.get('head_commit_id')} on {ref}"
            return
        plan = result.plan
        for a in plan.actions:
            if a.op != "unchanged":
                yield f"{_SYMBOL[a.op]} {a.op:9} {plan.root.rstrip('/')}/{a.rel}  ({a.reason})"
        counts = plan.counts()
        summary = ", ".join(f"{counts.get(k, 0)} {k}" for k in ("create", "update", "delete", "unchanged"))
        extra = ", ".join(f"{counts[k]} {k}" for k in ("conflict", "stale", "unmanaged") if counts.get(k))
        yield f"{head} {plan.root} on {result.target}: {summary}" + (f"; {extra}" if extra else "")

    print_planned(ctx, "sync", result, render, plan_out=plan_out, plan_in=plan_in,
                  save=lambda f: plan_apply.save_sync(ctx, result, f, scope=scope, prune=prune, force=force))
    if result.conflicts:
        raise CheckFailed(
            f"{len(result.conflicts)} object(s) changed in the workspace were not overwritten: "
            + ", ".join(a.rel for a in result.conflicts[:5]),
            hint="copy the workspace edits into the repo, or run `mlops sync --force` to overwrite them",
        )
