"""`mlops model status|validate|promote|rollback`."""

from __future__ import annotations

import click

from . import pass_state

SLOT = click.Choice(["staging", "production"])
model_option = click.option("--model", "model", metavar="NAME", help="Registered model (default: model.name).")


@click.group("model")
def command() -> None:
    """Registered model: status, validate, promote, rollback."""


def _gate_lines(validation):
    from ..console import table
    from ..core.promotion import table_rows

    rows, header = table_rows(validation.gate)
    prod = f"v{validation.production_version}" if validation.production_version else "none"
    yield f"{validation.model} v{validation.version} vs production ({prod}) on {validation.evaluation}"
    yield from table(rows, header)
    for note in validation.notes:
        yield f"note: {note}"


@command.command("status")
@model_option
@pass_state
def status_cmd(state, model):
    """Versions, who holds staging and production, metrics, source run and commit."""
    from ..console import table
    from ..ops.model import status

    ctx = state.context()
    result = status(ctx, model=model)

    def render():
        holders = ", ".join(f"{s}: {'v' + str(v) if v else '-'}" for s, v in result.holders.items())
        yield f"{result.model} ({result.scheme}; {result.total_versions} versions) {holders}"
        rows = [
            [
                v["version"],
                ",".join(v["slots"]) or "-",
                *[f"{v['metrics'][m]:.6g}" if m in v["metrics"] else "-" for m in result.metrics],
                (v["run_id"] or "-")[:12],
                (v["git_commit"] or "-")[:12],
                v["created"] or "-",
            ]
            for v in result.versions
        ]
        yield from table(rows, ["version", "slot", *result.metrics, "run", "commit", "created"])

    ctx.console.result(result.to_dict(), render)


@command.command("validate")
@model_option
@click.option("--version", "version", type=int, required=True, help="The candidate version.")
@pass_state
def validate_cmd(state, model, version):
    """Evaluate a version against the thresholds and the production model (exit 1 when it fails)."""
    from ..errors import CheckFailed
    from ..ops.model import validate

    ctx = state.context()
    result = validate(ctx, version, model=model)

    def render():
        yield from _gate_lines(result)
        yield "gate: " + result.gate.summary()

    ctx.console.result(result.to_dict(), render)
    if not result.passed:
        raise CheckFailed(f"version {version} of {result.model} failed the gate: {'; '.join(result.gate.reasons)}")


@command.command("promote")
@model_option
@click.option("--version", "version", type=int, required=True, help="The version to promote.")
@click.option("--to", "slot", type=SLOT, required=True, help="The slot to give it.")
@click.option("--force", is_flag=True, help="Skip the gate (recorded in the tags and the promotions log).")
@click.option("--from", "source", metavar="TARGET",
              help="Copy VERSION of TARGET's model into this target's model first (another catalog or workspace).")
@pass_state
def promote_cmd(state, model, version, slot, force, source):
    """Give staging or production to a version, gated by validate unless --force."""
    from ..ops.model import promote

    ctx = state.context()
    copy = None
    promotion = ctx.config.promotion
    if source is None and not model and promotion.across_environments == "copy" \
            and ctx.target.name != promotion.source_target:
        source = promotion.source_target  # promotion.across_environments: copy
    if source:
        if model:
            raise click.UsageError("--from takes the models of the two targets from mlops.yaml; drop --model")
        from ..ops.model_copy import promote_from

        copy, result = promote_from(ctx, source, version, slot, force)
    else:
        result = promote(ctx, version, slot, force, model=model)

    def render():
        if copy is not None:
            yield (f"{copy.how}: {copy.source_target} {copy.source_model} version {copy.source_version}"
                   f" -> {copy.model}" + (f" version {copy.version}" if copy.version else ""))
        if result is None:
            yield f"dry run: then gate it and give it {slot} of {copy.model}"
            return
        if result.validation is not None:
            yield from _gate_lines(result.validation)
        yield ("dry run: " if result.dry_run else "") + result.message

    doc = result.to_dict() if result is not None else {"dry_run": True}
    if copy is not None:
        doc = {**doc, "copy": copy.to_dict()}
    ctx.console.result(doc, render)


@command.command("rollback")
@model_option
@click.option("--to", "slot", type=SLOT, default="production", show_default=True, help="The slot to roll back.")
@pass_state
def rollback_cmd(state, model, slot):
    """Give the slot back to its previous holder from the promotions log (exit 2 when there is none)."""
    from ..ops.model import rollback

    ctx = state.context()
    result = rollback(ctx, slot, model=model)
    ctx.console.result(result.to_dict(), lambda: [("dry run: " if result.dry_run else "") + result.message])
