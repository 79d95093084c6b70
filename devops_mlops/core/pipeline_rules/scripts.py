"""The shell text of pipeline steps: script bodies, their lines, and the ``mlops …`` command lines in
them, with pipeline macros (``$(var)``, ``${{ … }}``, ``$[ … ]``) read as a placeholder value.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from typing import Any

from .expansion import Step
from .findings import Loc

SCRIPT_KEYS = ("script", "bash", "pwsh", "powershell")
SCRIPT_INPUTS = {"script", "inlinescript", "inline", "arguments", "scriptarguments"}
MACRO = re.compile(r"\$\(([A-Za-z_][\w.\-]*)\)")
_PLACEHOLDER_RX = re.compile(r"\$\{\{.*?\}\}|\$\[.*?\]|\$\([A-Za-z_][\w.\-]*\)", re.DOTALL)
PLACEHOLDER = "__AZP_VALUE__"


def script_bodies(step: Step) -> list[tuple[str, Loc]]:
    """(text, loc) for each script body of a step: script/bash/pwsh/powershell and script inputs."""
    out = []
    for key in SCRIPT_KEYS:
        if isinstance(step.data.get(key), str):
            out.append((step.data[key], step.loc(key)))
    inputs = step.data.get("inputs")
    if isinstance(inputs, dict):
        for key, val in inputs.items():
            if isinstance(key, str) and key.lower() in SCRIPT_INPUTS and isinstance(val, str):
                out.append((val, step.loc("inputs", key)))
    return out


def body_line(text: str, loc: Loc, index: int) -> int | None:
    """The file line of line ``index`` of a script body (block scalars start on the next line)."""
    line = loc.line
    if line is None:
        return None
    return line + (1 + index if "\n" in text.rstrip("\n") or text.endswith("\n") else 0)


def logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """(0-based index of the first physical line, the joined line) with `\\` continuations joined."""
    buf, start = "", 0
    for i, raw in enumerate(text.split("\n")):
        if not buf:
            start = i
        if raw.rstrip().endswith("\\"):
            buf += raw.rstrip()[:-1] + " "
            continue
        yield start, buf + raw
        buf = ""
    if buf:
        yield start, buf


_SEPARATORS = {"&&", "||", ";", "|", "&", "(", ")", ";;", "|&"}


def mlops_commands(text: str) -> list[tuple[int, list[str]]]:
    """Each ``mlops …`` (or ``python -m devops_mlops …``) command in a shell script:
    (0-based line index, the arguments after the program). ``$(var)``, ``${{ … }}``
    and shell variables become the PLACEHOLDER value."""
    found = []
    for index, line in logical_lines(text):
        if "mlops" not in line:
            continue
        line = _PLACEHOLDER_RX.sub(PLACEHOLDER, line)
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            tokens = list(lexer)
        except ValueError:
            continue
        at_start = True
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok in _SEPARATORS:
                at_start = True
                i += 1
                continue
            if at_start and re.fullmatch(r"[A-Za-z_]\w*=.*", tok):
                i += 1  # VAR=value prefix
                continue
            if at_start and tok in ("exec", "time", "command", "then", "do", "else", "if", "!"):
                i += 1
                continue
            prog_len = 0
            if at_start and (tok == "mlops" or tok.endswith("/mlops")):
                prog_len = 1
            elif at_start and re.fullmatch(r"(.*/)?python(3(\.\d+)?)?", tok) and tokens[i + 1: i + 3] == ["-m", "devops_mlops"]:
                prog_len = 3
            at_start = False
            if prog_len:
                j = i + prog_len
                args = []
                while j < len(tokens) and tokens[j] not in _SEPARATORS and not tokens[j].startswith((">", "<", "2>")):
                    args.append(PLACEHOLDER if "$" in tokens[j] else tokens[j])
                    j += 1
                found.append((index, args))
                i = j
                continue
            i += 1
    return found


def is_placeholder(value: Any) -> bool:
    """Whether a parsed argument (or any of a list of them) stands for a pipeline macro."""
    if isinstance(value, (list, tuple)):
        return any(is_placeholder(v) for v in value)
    return isinstance(value, str) and PLACEHOLDER in value


GLOBAL_VALUE_OPTIONS = {"--config", "--target", "--format"}


def subcommand(args: list[str]) -> tuple[str | None, bool]:
    """(the mlops subcommand, whether --dry-run was given before it)."""
    dry = False
    i = 0
    while i < len(args):
        a = args[i]
        if a in GLOBAL_VALUE_OPTIONS:
            i += 2
            continue
        if a == "--dry-run":
            dry = True
        elif not a.startswith("-"):
            return a, dry or "--dry-run" in args[i:]
        i += 1
    return None, dry

