"""`mlops commit PATH...`: commit notebooks back to the repository (see devops_mlops.ops.commit)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from . import pass_state, push_option


@click.command("commit")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--from-workspace", is_flag=True, help="Export the notebooks from the target's workspace first.")
@click.option("--branch", metavar="B", help="Branch to push to (default: scm.branch).")
@click.option("-m", "--message", metavar="M", help="Commit message (the skip marker is added).")
@click.option("--pull-request", is_flag=True, help="Push to an automation branch and open or update a pull request.")
@click.option("--provenance", "provenance_file", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False),
              help="JSON with model, version, metrics, data_window, work_item: written as a provenance record.")
@push_option
@pass_state
def command(state, paths, from_workspace, branch, message, pull_request, provenance_file, push) -> None:
    """Commit only PATHS (notebooks) with the bot identity and push them (--no-push, or scm.push:
    false, keeps the commit on the checked-out branch)."""
    from ..errors import InputError
    from ..ops.commit import commit_notebooks

    provenance = None
    if provenance_file is not None:
        try:
            provenance = json.loads(provenance_file.read_text())
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", path=provenance_file) from None
        except ValueError as exc:
            raise InputError(f"invalid JSON: {exc}", path=provenance_file) from None
        if not isinstance(provenance, dict):
            raise InputError("the provenance file must hold a JSON object", path=provenance_file)
    ctx = state.context()
    ctx.push = push
    result = commit_notebooks(
        ctx,
        [p.resolve() for p in paths],
        message=message,
        branch=branch,
        pull_request=pull_request,
        provenance=provenance,
        from_workspace=from_workspace,
    )
    ctx.console.result(result.as_dict(), lambda: render(result))


def render(result):
    verb = "would commit" if result.dry_run else "committed"
    if result.no_changes:
        yield "no changes: " + ", ".join(result.paths) + " already match HEAD"
        return
    for path in result.changed:
        yield f"{verb} {path}"
    if result.commit:
        yield f"commit {result.commit[:12]}: {result.message.splitlines()[0]}"
    if result.pushed:
        yield f"pushed to {result.remote}/{result.branch}" + (" (rebased on the moved remote)" if result.rebased else "")
    yield from result.notes
    if result.pull_request:
        pr = result.pull_request
        yield f"pull request {pr.pull_request_id} {'opened' if pr.created else 'updated'}: {pr.url}"
