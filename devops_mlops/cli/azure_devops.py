"""mlops azure-devops setup [--dry-run]"""

from __future__ import annotations

import click

from . import State, pass_state

_MARK = {"create": "+", "update": "~", "unchanged": "=", "manual": "!"}


@click.group("azure-devops")
def command() -> None:
    """Wire the project into Azure DevOps (pipelines, environments, policies)."""


@command.command("setup")
@pass_state
def setup(state: State) -> None:
    """Create or update the pipelines, environments, approval, variable group, branch policy and
    build-identity permissions in the organization and project of scm.azure_devops."""
    from ..ops.azure_devops_setup import run

    ctx = state.context()
    result = run(ctx)

    def render():
        verb = "plan for" if result.dry_run else "set up"
        yield f"{verb} {result.organization_url}/{result.project} (repository {result.repository}, {result.default_branch})"
        for s in result.steps:
            done = {"create": "created", "update": "updated"}
            action = f"would {s.action}" if result.dry_run and s.action in done else done.get(s.action, s.action)
            yield f"  {_MARK[s.action]} {s.kind:<15} {s.name:<40} {action}{': ' + s.detail if s.detail else ''}"
        if not result.changed:
            yield "nothing to change: everything is already set up"
        for m in result.manual:
            yield f"by hand: {m}"

    ctx.console.result(result.as_dict(), render)
