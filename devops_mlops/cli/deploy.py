"""`mlops deploy`: the job definitions onto the target."""

from __future__ import annotations

from pathlib import Path

import click

from . import pass_state, plan_only, print_planned

_SYMBOL = {"create": "+", "update": "~", "delete": "-", "unchanged": "=", "stale": "?"}


@click.command("deploy")
@click.option("--prune", is_flag=True, help="Delete jobs mlops created that are no longer defined.")
@click.option("--job", "only", multiple=True, metavar="KEY",
              help="Deploy only this job (repeatable); the other jobs are left as they are.")
@click.option("--plan-out", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="Write the plan to FILE (and FILE.md) for review; change nothing.")
@click.option("--plan", "plan_in", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="Apply exactly the plan in FILE; refused when the target changed since.")
@pass_state
def command(state, prune, only, plan_out, plan_in):
    """Create or update the target's jobs from the job definitions."""
    from ..core.job_refs import refs_in
    from ..ops import plan_apply
    from ..ops.deploy import deploy

    ctx = state.context()
    if plan_in:
        plan_only(plan_in, plan_out=plan_out, **{"--job": only, "--prune": prune})
        result = plan_apply.apply_deploy(ctx, plan_in)
    else:
        ctx.dry_run = ctx.dry_run or bool(plan_out)
        result = deploy(ctx, prune=prune, only=list(only) or None)

    def render():
        shipped = result.shipped
        for art in (shipped.artifacts if shipped else []):
            verb = {"upload": "+ upload   ", "present": "= present  "}.get(art.op, "  artifact ")
            yield f"{verb}{art.filename} sha256:{art.sha256[:16]} ({art.size} bytes) -> {art.remote}"
        if shipped and shipped.toolkit_pin:
            yield f"  require  {shipped.toolkit_pin}"
        for a in result.plan.actions:
            jid = result.job_ids.get(a.key, a.job_id)
            yield f"{_SYMBOL[a.op]} {a.op:9} {a.key}" + (f" (job {jid})" if jid else "") + (
                f"  {a.reason}" if a.op in ("delete", "stale") else "")
            for line in a.diff:
                yield f"    {line}"
            waits = sorted(refs_in(a.settings)) if a.settings and a.op in ("create", "update") else []
            if waits:
                yield f"    after {', '.join(waits)}: its job id is filled in once created"
        for p in result.plan.permissions:
            jid = p.job_id or result.job_ids.get(p.key)
            where = f" (job {jid})" if jid else ""
            yield (f"~ permissions {p.key}{where}" if p.op == "set" else f"= permissions {p.key}{where}")
            for line in p.diff:
                yield f"    {line}"
        for jid in result.deduplicated:
            yield f"- deleted duplicate job {jid} (left by a create whose answer was lost)"
        counts = result.plan.counts()
        head = "plan" if result.dry_run else "deployed"
        yield f"{head} on {result.target}: " + ", ".join(
            f"{counts.get(k, 0)} {k}" for k in ("create", "update", "delete", "unchanged")) + (
            f", {counts['stale']} stale" if counts.get("stale") else "") + (
            f", permissions of {result.plan.permission_changes()} job(s) set" if result.plan.permission_changes() else "")

    print_planned(ctx, "deploy", result, render, plan_out=plan_out, plan_in=plan_in,
                  save=lambda f: plan_apply.save_deploy(ctx, result, f, prune=prune))
    from ..ops import pr_feedback

    if result.dry_run and pr_feedback.wanted():
        pr_feedback.report(ctx.console, "deploy", result.to_json(), config=ctx.config)
