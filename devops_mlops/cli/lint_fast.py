"""`mlops lint` without click: its command line read here when it is a plain one, and the
command's body (shared with the click command in cli/lint.py).

API::

    options = parse(["--format", "json", "lint", "notebooks", "--select", "F"])
    options                 # LintOptions(...), or None: let click read this command line
    run(options.state(), options.paths, options.junit, options.select, options.ignore, options.fix)

Importing click costs about as much as linting a few hundred notebooks, so ``mlops lint``
reads its own command line when every token is one this module knows exactly: the global
options (``--config``, ``--target``, ``--dry-run``, ``--format text|json``, ``-v``/``--verbose``,
``--timeout``), ``lint``, then paths and ``--junit``, ``--select``, ``--ignore``, ``--fix``,
``--dry-run`` and ``--``, each value given once, as ``--opt value`` or ``--opt=value``. Anything
else (``--help``, an unknown or repeated option, a missing value, a value click would refuse) is
None, and click reads the line as before, with its own messages.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import CheckFailed, UsageError

_GLOBAL_VALUES = ("--config", "--target", "--format", "--timeout")
_GLOBAL_FLAGS = {"--dry-run": "dry_run", "-v": "verbose", "--verbose": "verbose"}
_LINT_VALUES = ("--junit", "--select", "--ignore")
_LINT_FLAGS = ("--fix", "--dry-run")


@dataclass
class LintOptions:
    config: str | None = None
    target: str | None = None
    dry_run: bool = False
    fmt: str = "text"
    verbose: bool = False
    timeout: float | None = None
    paths: tuple[Path, ...] = ()
    junit: Path | None = None
    select: str | None = None
    ignore: str | None = None
    fix: bool = False

    def state(self):
        from . import State

        return State(self.config, self.target, self.dry_run, self.fmt, self.verbose, self.timeout)


def _split(token: str, names: tuple[str, ...]) -> tuple[str, str | None] | None:
    """(option, value given with ``=`` or None) when ``token`` names one of ``names``."""
    name, eq, value = token.partition("=")
    if name not in names:
        return None
    return name, (value if eq else None)


def _readable(path: str) -> bool:
    """What click.Path (readable, the default) accepts: a missing path, or a readable one."""
    return not os.path.exists(path) or os.access(path, os.R_OK)


def _options(tokens: list[str], flags, valued: tuple[str, ...], command: str | None = None):
    """(flags given, {option: value}, arguments, index after ``command``) of ``tokens`` read up to
    ``command`` (the global options: no arguments) or to their end (``--`` ends the options);
    None for a token that is none of them, a repeated option or a missing value."""
    given: set[str] = set()
    values: dict[str, str] = {}
    arguments: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if command is not None and token == command:
            return given, values, arguments, i + 1
        if command is None and token == "--":
            arguments += tokens[i + 1:]
            break
        if command is None and (not token.startswith("-") or token == "-"):
            arguments.append(token)
        elif token in flags:
            if token in given:
                return None
            given.add(token)
        else:
            split = _split(token, valued)
            if split is None:
                return None
            name, value = split
            if value is None:
                if i + 1 >= len(tokens):
                    return None
                i += 1
                value = tokens[i]
            if name in values or not value or value.startswith("-"):
                return None
            values[name] = value
        i += 1
    if command is not None:
        return None  # no command, or another one
    return given, values, arguments, len(tokens)


def parse(args: list[str]) -> LintOptions | None:
    """The options of a plain ``mlops [global options] lint ...`` line; None for anything else."""
    opts = LintOptions()
    head = _options(args, _GLOBAL_FLAGS, _GLOBAL_VALUES, command="lint")
    if head is None:
        return None
    seen, values, _none, after = head
    if "--verbose" in seen and "-v" in seen:
        return None
    for flag in seen:
        setattr(opts, _GLOBAL_FLAGS[flag], True)
    if values.get("--format", "text") not in ("text", "json"):
        return None
    if "--timeout" in values:
        try:
            timeout = float(values["--timeout"])
        except ValueError:
            return None
        if math.isnan(timeout) or timeout < 1:
            return None
        opts.timeout = timeout
    opts.config, opts.target = values.get("--config"), values.get("--target")
    opts.fmt = values.get("--format", "text")
    tail = _options(args[after:], _LINT_FLAGS, _LINT_VALUES)
    if tail is None:
        return None
    flags, lint_values, paths, _end = tail
    if any(not p or not _readable(p) for p in paths):
        return None
    junit = lint_values.get("--junit")
    if junit is not None and (os.path.isdir(junit) or not _readable(junit)):
        return None
    opts.paths = tuple(Path(p) for p in paths)
    opts.junit = Path(junit) if junit is not None else None
    opts.select, opts.ignore = lint_values.get("--select"), lint_values.get("--ignore")
    opts.fix = "--fix" in flags
    opts.dry_run = opts.dry_run or "--dry-run" in flags
    return opts


def _codes(value: str | None) -> list[str]:
    return [c.strip().upper() for c in (value or "").split(",") if c.strip()]


def run(state, paths: tuple[Path, ...], junit: Path | None, select: str | None, ignore: str | None,
        fix: bool) -> None:
    """The body of `mlops lint` (whichever way its command line was read)."""
    from ..config import load_config
    from ..console import Console, in_pipeline
    from ..ops.lint import junit_suites, lint_paths

    console = Console(state.fmt, state.verbose)
    config = None
    try:
        config = load_config(state.config_path)
    except UsageError:
        if not paths:
            raise
    targets = list(paths) or [config.notebooks_dir]
    cfg_select = config.lint.select if config else []
    cfg_ignore = config.lint.ignore if config else []
    result = lint_paths(
        targets,
        select=_codes(select) or cfg_select or None,
        ignore=cfg_ignore + _codes(ignore),
        exclude=config.lint.exclude if config else None,
        fix=fix and not state.dry_run,
        root=config.root if config else Path.cwd(),
        config=config,
    )
    if in_pipeline():
        for f in result.findings:
            console.logissue("error" if f.severity == "error" else "warning", f"{f.code} {f.message}",
                             path=f.path, line=f.line, column=f.column, code=f.code)
    if junit:
        from ..core.junit import write_junit

        write_junit(junit, junit_suites(result), name="mlops lint")

    def render():
        lines = [f"{f.where()}: {f.code} {f.message}" for f in result.findings]
        if result.fixed:
            lines.append(f"Fixed {result.fixed} finding(s).")
        if result.findings:
            fixable = sum(1 for f in result.findings if f.fixable)
            extra = f" ({fixable} fixable with --fix)" if fixable else ""
            lines.append(f"Found {len(result.findings)} finding(s) in {len({f.path for f in result.findings})} "
                         f"file(s){extra}.")
        else:
            lines.append(f"All checks passed ({len(result.files)} file(s)).")
        return ["\n".join(lines)]  # one write, masked once (by console.result)

    doc = None
    if console.json:
        doc = result.to_json()
    console.result(doc, render)
    from ..ops import pr_feedback

    if pr_feedback.wanted():
        pr_feedback.report(console, "lint", doc if doc is not None else result.to_json(), config=config,
                           findings=result.findings, files=result.files)
    if result.findings:
        raise CheckFailed(f"{len(result.findings)} lint finding(s)", reported=True)
