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
from pathlib import Path

from ..errors import CheckFailed, UsageError

_GLOBAL_VALUES = ("--config", "--target", "--format", "--timeout")
_GLOBAL_FLAGS = {"--dry-run": "dry_run", "-v": "verbose", "--verbose": "verbose"}
_LINT_VALUES = ("--junit", "--select", "--ignore")
_LINT_FLAGS = ("--fix", "--dry-run")


class LintOptions:
    """The options of a plain `mlops lint` line (the global ones first)."""

    def __init__(self) -> None:
        self.config: str | None = None
        self.target: str | None = None
        self.dry_run = False
        self.fmt = "text"
        self.verbose = False
        self.timeout: float | None = None
        self.paths: tuple[Path, ...] = ()
        self.junit: Path | None = None
        self.select: str | None = None
        self.ignore: str | None = None
        self.fix = False

    def __repr__(self) -> str:
        return f"LintOptions({vars(self)})"

    def state(self):
        from .state import State

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


def _guess(config_path: str | None) -> tuple[Path | None, Path] | None:
    """(mlops.yaml, the project root) when the file says nothing of lint (the word is not in it,
    so no key, anchor or merge can bring a ``lint:`` section): linting can start before the file
    is read. (None, the current folder) without a file; None when the file must be read first."""
    from ..config_file import find_config

    try:
        path = Path(config_path) if config_path else find_config()
    except UsageError:
        return None, Path.cwd()  # linted with the defaults, as a command line without a file is
    try:
        with open(path, "rb") as f:
            text = f.read((1 << 20) + 1)
    except OSError:
        return None  # reported by load_config, as before
    if len(text) > 1 << 20 or b"lint" in text.lower():
        return None
    return path, path.resolve().parent


def _loader(path: Path | None):
    """The check of a guess: the configuration read (None without a file), or
    ConfigGuessWrong when its lint settings are not the defaults."""

    def load():
        if path is None:
            return None
        from ..config import load_config
        from ..ops.lint import ConfigGuessWrong

        config = load_config(path)
        if config.lint.select or config.lint.ignore or config.lint.exclude:
            raise ConfigGuessWrong(config)
        return config

    return load


def _lint(paths, select, ignore, fix, state, root: Path, config):
    """lint_paths with the settings of ``config`` (a Config, None, or a loader of it)."""
    from ..ops.lint import lint_paths

    settled = config if not callable(config) else None
    return lint_paths(
        list(paths),
        select=_codes(select) or (settled.lint.select if settled else []) or None,
        ignore=(settled.lint.ignore if settled else []) + _codes(ignore),
        exclude=settled.lint.exclude if settled else None,
        fix=fix and not state.dry_run,
        root=root,
        config=config,
    )


def run(state, paths: tuple[Path, ...], junit: Path | None, select: str | None, ignore: str | None,
        fix: bool) -> None:
    """The body of `mlops lint` (whichever way its command line was read)."""
    from ..console import Console, in_pipeline
    from ..ops.lint import ConfigGuessWrong, junit_suites

    console = Console(state.fmt, state.verbose)
    guess = _guess(state.config_path) if paths else None
    if guess is not None:
        # read mlops.yaml while ruff works (YAML and the schema cost as much to import as ruff
        # takes to start): lint as if it said nothing of lint, then check that it did not
        try:
            result = _lint(paths, select, ignore, fix, state, guess[1], _loader(guess[0]))
        except ConfigGuessWrong as wrong:
            result = _lint(paths, select, ignore, fix, state, wrong.config.root, wrong.config)
        config = result.config
    else:
        from ..config import load_config

        config = None
        try:
            config = load_config(state.config_path)
        except UsageError:
            if not paths:
                raise
        result = _lint(paths or (config.notebooks_dir,), select, ignore, fix, state,
                       config.root if config else Path.cwd(), config)
    if in_pipeline():
        for f in result.findings:
            console.logissue("error" if f.severity == "error" else "warning", f"{f.code} {f.message}",
                             path=f.path, line=f.line, column=f.column, code=f.code)
    if junit:
        from ..files.junit import write_junit

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
