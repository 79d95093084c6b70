"""``mlops …`` command lines read by the real click commands without running anything: what
`mlops pipelines validate` asks about each command line in a pipeline's scripts (rules PL106,
PL107), given to the use case as its ``check_command``.
"""

from __future__ import annotations

import click

from ..core import pipeline_rules as rules
from .app import cli, load_command
from .state import COMMANDS


def check_command(args: list[str]) -> list[tuple[str, str]]:
    """Parse ``mlops ARGS`` with click against the real command objects, without running anything.
    Placeholders (``$(var)``, ``${{ parameters.x }}``) are accepted as values of any type."""
    shown = "mlops " + " ".join(args)
    cmd: click.Command = cli
    parent = None
    name = "mlops"
    rest = list(args)
    while True:
        ctx = click.Context(cmd, info_name=name, parent=parent)
        try:
            parser = cmd.make_parser(ctx)
            opts, largs, _order = parser.parse_args(args=rest)
        except click.UsageError as exc:
            return [("PL106", f"`{shown}`: {exc.format_message()}")]
        params = cmd.get_params(ctx)
        if any(p.is_eager and opts.get(p.name) for p in params):
            return []  # --help, --version
        for param in params:
            value = opts.get(param.name) if param.name else None
            if not isinstance(value, (str, bool, int, float, list, tuple)):
                value = None  # click's UNSET sentinel: not given
            if value is None or value == () or rules.is_placeholder(value):
                if param.required and value in (None, ()):
                    what = param.opts[-1] if isinstance(param, click.Option) else param.human_readable_name
                    return [("PL106", f"`{shown}`: missing {what}")]
                continue
            try:
                param.type_cast_value(ctx, value)
            except click.BadParameter as exc:
                return [("PL106", f"`{shown}`: {param.human_readable_name}: {exc.format_message()}")]
        if not isinstance(cmd, click.Group):
            if largs and not ctx.allow_extra_args:
                return [("PL106", f"`{shown}`: unexpected extra argument {largs[0]!r}")]
            return []
        if not largs:
            return [("PL106", f"`{shown}`: no command given")] if cmd is cli else []
        sub_name, rest = largs[0], largs[1:]
        if rules.is_placeholder(sub_name):
            return []
        if cmd is cli:
            sub = _registered(shown, sub_name)
            if isinstance(sub, list):
                return sub
        else:
            sub = cmd.get_command(ctx, sub_name)
            if sub is None:
                return [("PL106", f"`{shown}`: {name} has no command {sub_name!r}")]
        parent, cmd, name = ctx, sub, sub_name


def _registered(shown: str, name: str) -> click.Command | list[tuple[str, str]]:
    """The top-level command ``name``, or the PL107 finding saying why there is none."""
    if name not in COMMANDS:
        return [("PL107", f"`{shown}`: no command {name!r} (commands: {', '.join(sorted(COMMANDS))})")]
    module = f"devops_mlops.cli.{COMMANDS[name][0]}"
    try:
        return load_command(name)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            where = module.replace(".", "/") + ".py"
            return [("PL107", f"`{shown}`: command {name!r} is registered but {where} does not exist yet")]
        return [("PL107", f"`{shown}`: command {name!r} cannot be imported: {exc}")]
    except Exception as exc:  # noqa: BLE001 - a broken module is still a finding, not a crash
        return [("PL107", f"`{shown}`: command {name!r} cannot be imported: {type(exc).__name__}: {exc}")]
