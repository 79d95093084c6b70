"""The template-expression language of Azure Pipelines, as far as a static check can read it.

``${{ if … }}`` conditions are evaluated when every value they name is known (the
template's parameters); functions: eq, ne, and, or, not, in, notIn, startsWith, endsWith,
contains. Anything else raises :class:`Unknown`, and the caller keeps both branches.
"""

from __future__ import annotations

import re
from typing import Any


def is_expression(text: Any) -> bool:
    """Whether ``text`` is a whole ``${{ … }}`` compile-time expression."""
    return isinstance(text, str) and text.startswith("${{") and text.endswith("}}")


class Expr(str):
    """A whole-value expression (``${{ … }}`` or ``$[ … ]``): its type is known only at run time."""


class Unknown(Exception):
    """An expression names something a static check cannot know (a variable, an unsupported function)."""


def evaluate(expr: str, params: dict[str, Any]) -> Any:
    """A small evaluator for template conditions: eq, ne, and, or, not, in, notIn,
    startsWith, endsWith, contains, literals and ``parameters.x``. Raises Unknown."""
    tokens = re.findall(r"'(?:[^']|'')*'|[A-Za-z_][\w.\-\[\]']*|\d+(?:\.\d+)?|[(),]", expr)
    pos = 0

    def parse() -> Any:
        nonlocal pos
        if pos >= len(tokens):
            raise Unknown(expr)
        tok = tokens[pos]
        pos += 1
        if tok.startswith("'"):
            return tok[1:-1].replace("''", "'")
        if re.fullmatch(r"\d+(\.\d+)?", tok):
            return float(tok) if "." in tok else int(tok)
        low = tok.lower()
        if low in ("true", "false"):
            return low == "true"
        if pos < len(tokens) and tokens[pos] == "(":
            pos += 1
            args = []
            while tokens[pos] != ")":
                args.append(parse())
                if tokens[pos] == ",":
                    pos += 1
            pos += 1
            return _call(low, args)
        m = re.fullmatch(r"parameters(?:\.([\w-]+)|\['([^']+)'\])", tok)
        if m:
            name = m.group(1) or m.group(2)
            if name in params:
                return params[name]
        raise Unknown(tok)

    try:
        value = parse()
    except (IndexError, KeyError):
        raise Unknown(expr) from None
    return value


def norm(v: Any) -> str:
    """A value as the expression functions compare it: lower case, booleans as ``true``/``false``."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v).lower()


def truthy(v: Any) -> bool:
    """A value's truth as Azure Pipelines reads it: empty, ``false`` and ``0`` strings are false."""
    if isinstance(v, str):
        return v.lower() not in ("", "false", "0")
    return bool(v)


def _call(name: str, args: list) -> Any:
    if name == "eq":
        return norm(args[0]) == norm(args[1])
    if name == "ne":
        return norm(args[0]) != norm(args[1])
    if name == "and":
        return all(truthy(a) for a in args)
    if name == "or":
        return any(truthy(a) for a in args)
    if name == "not":
        return not truthy(args[0])
    if name == "in":
        return norm(args[0]) in {norm(a) for a in args[1:]}
    if name == "notin":
        return norm(args[0]) not in {norm(a) for a in args[1:]}
    if name == "startswith":
        return norm(args[0]).startswith(norm(args[1]))
    if name == "endswith":
        return norm(args[0]).endswith(norm(args[1]))
    if name == "contains":
        return norm(args[1]) in norm(args[0])
    raise Unknown(name)


def decide(kind: str, cond: str, params: dict | None, chain: list) -> bool:
    """Whether an ``if``/``elseif``/``else`` branch is kept. Unknown conditions keep it."""
    if kind == "if":
        chain[:] = []
    if kind in ("elseif", "else") and any(r is True for r in chain):
        return False
    if kind == "else":
        return True
    if params is None:
        chain.append(None)
        return True
    try:
        result = truthy(evaluate(cond, params))
    except Unknown:
        result = None
    chain.append(result)
    return result is not False

