"""The click application behind `mlops`: the global options, the lazily loaded subcommands.

``devops_mlops.cli`` (the entry point) imports this module only for a command line that its
click-free fast path (``cli/lint_fast.py``) does not take; the names defined here are also
reachable as ``devops_mlops.cli.<name>``.
"""

from __future__ import annotations

import importlib

import click

from .state import COMMANDS, State


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        return load_command(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def load_command(name: str) -> click.Command:
    """The command registered as ``name``, with ``--dry-run`` accepted after it (and after each of
    its subcommands) as well as before it. ModuleNotFoundError when its module is missing."""
    command = importlib.import_module(f"{__package__}.{COMMANDS[name][0]}").command
    with_dry_run(command)
    return command


def _set_dry_run(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        state = ctx.find_object(State)
        if state is not None:
            state.dry_run = True


DRY_RUN_HELP = "Print the plan; change nothing (same as `mlops --dry-run ...`)."


def with_dry_run(command: click.Command) -> click.Command:
    """Give every leaf command under ``command`` a ``--dry-run`` option that sets the global flag
    (one mechanism instead of one option per command); idempotent."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_dry_run(sub)
        return command
    if not any(isinstance(p, click.Option) and "--dry-run" in p.opts for p in command.params):
        command.params.append(
            click.Option(["--dry-run"], is_flag=True, expose_value=False, callback=_set_dry_run, help=DRY_RUN_HELP)
        )
    return command


def push_option(command):
    """``--push/--no-push``: whether the commits the command makes are pushed (default: the config;
    a local target does not push). The value lands in ``ctx.push`` (core.push_policy)."""
    return click.option(
        "--push/--no-push", "push", default=None,
        help="Push the commits made (and open pull requests), or keep them local. Default: "
        "targets.<name>.scm.push, else scm.push; unset, the auto-commit on a local target stays local "
        "(docs/commit.md).",
    )(command)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config", metavar="FILE", help="mlops.yaml to use (default: found in . or its parents).")
@click.option("--target", "target", metavar="NAME", help="Target from mlops.yaml (default: the default target).")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Debug logs; tracebacks for bugs.")
@click.option("--timeout", "timeout", type=click.FloatRange(min=1), metavar="SECONDS",
              help="How long to keep retrying a throttled or unavailable service (default: the target's "
                   "retry_timeout, else 120).")
@click.version_option(package_name="devops-mlops", prog_name="mlops")
@click.pass_context
def cli(ctx: click.Context, config, target, dry_run, fmt, verbose, timeout) -> None:
    """devops-mlops: the MLOps lifecycle of a data squad, as pipelines on Databricks."""
    from ..console import setup_logging

    setup_logging(verbose)
    ctx.obj = State(config, target, dry_run, fmt, verbose, timeout)


pass_state = click.make_pass_decorator(State)


def plan_only(plan_in, plan_out=None, **others) -> None:
    """``--plan FILE`` applies what the file records: options that would change the plan are refused."""
    from ..errors import UsageError

    given = [name for name, value in {"--plan-out": plan_out, **others}.items() if value]
    if given:
        raise UsageError(f"--plan {plan_in} applies the plan as it was written (its selection included): "
                         f"{', '.join(given)} cannot be given with it",
                         hint="write a new plan with these options and --plan-out")


def print_planned(ctx, command: str, result, render, *, plan_out, plan_in, save) -> None:
    """Print a sync/deploy result; with ``--plan-out`` first write the plan (``save(path)``)."""
    if plan_out:
        save(plan_out)
    doc = result.to_json()
    if plan_out or plan_in:
        doc["plan_file"] = str(plan_out or plan_in)
    ctx.console.result(doc, render)
    if plan_out and not ctx.console.json:
        ctx.console.info(f"plan written to {plan_out} (review {plan_out.with_suffix('.md')}; "
                         f"apply it with `mlops {command} --plan {plan_out}`)")




def run(args: list[str]) -> None:
    """Run the command line through click; click's own outcomes become exit codes here, an
    :class:`~devops_mlops.errors.MlopsError` is left to the caller."""
    import sys

    try:
        cli.main(args=args, prog_name="mlops", standalone_mode=False)
    except click.exceptions.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
