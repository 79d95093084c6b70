"""Resolution of a YAML document's template expressions: ``${{ if/elseif/else/each/insert }}``
keys unnested, ``${{ parameters.x }}`` substituted, and the source :class:`Loc` of every node of the
result recorded, so a finding about the resolved value names the line where it was written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .expressions import Expr, decide, is_expression, norm
from .findings import Loc

_EXPR_KEY = re.compile(r"^\$\{\{\s*(if|elseif|else|each|insert)\b(.*?)\}\}$", re.DOTALL)
_WHOLE_EXPR = re.compile(r"^\s*(\$\{\{.*\}\}|\$\[.*\])\s*$", re.DOTALL)
_PARAM_REF = re.compile(r"\$\{\{\s*parameters\.([A-Za-z_][\w-]*)\s*\}\}")


@dataclass
class Params:
    """Template parameters in scope: name -> value, and where each value was written."""

    values: dict[str, Any]
    locs: dict[str, Loc]


def resolve(value: Any, loc: Loc, params: Params | None, origins: dict, new: tuple = (), wildcard: bool = False) -> Any:
    """Unnest ``${{ if/each … }}`` keys, substitute ``${{ parameters.x }}`` (when ``params``),
    and record in ``origins`` the source Loc of every node of the result (keyed by its new path).
    Without params every branch is kept (the check-jsonschema transform's reading);
    with ``wildcard`` whole-value expressions become :class:`Expr` (valid as any type)."""
    origins[new] = loc
    if isinstance(value, dict):
        out: dict = {}
        for key, val, vloc in _entries(value, loc, params):
            out[key] = resolve(val, vloc, params, origins, new + (key,), wildcard)
        return out
    if isinstance(value, list):
        items = list(_items([(v, loc.child(i)) for i, v in enumerate(value)], params))
        return [resolve(v, vloc, params, origins, new + (j,), wildcard) for j, (v, vloc) in enumerate(items)]
    if isinstance(value, str):
        if params is not None:
            m = _PARAM_REF.fullmatch(value.strip())
            if m and m.group(1) in params.values:
                name = m.group(1)
                return resolve(params.values[name], params.locs[name], None, origins, new, wildcard)
            value = _PARAM_REF.sub(lambda m: _inline(m, params), value)
        if wildcard and _WHOLE_EXPR.match(value):
            return Expr(value)
    return value


def _inline(m: re.Match, params: Params) -> str:
    """A ``${{ parameters.x }}`` inside a longer string: its scalar value, or the text unchanged."""
    name = m.group(1)
    if name not in params.values or isinstance(params.values[name], (dict, list)):
        return m.group(0)
    return norm(params.values[name]) if isinstance(params.values[name], bool) else str(params.values[name])


def _entries(mapping: dict, loc: Loc, params: Params | None) -> Iterable[tuple[Any, Any, Loc]]:
    """The (key, value, location) entries of a mapping with its conditional keys unnested."""
    chain: list = []
    for key, val in mapping.items():
        m = _EXPR_KEY.match(key) if isinstance(key, str) else None
        if m:
            kind = m.group(1)
            if kind in ("if", "elseif", "else") and not decide(kind, m.group(2), params and params.values, chain):
                continue
            if isinstance(val, dict):
                yield from _entries(val, loc.child(key), params)
            continue
        if is_expression(key):
            continue  # a computed key (`${{ pair.key }}: …`): unknown until run time
        yield key, val, loc.child(key)


def _items(pairs: list[tuple[Any, Loc]], params: Params | None) -> Iterable[tuple[Any, Loc]]:
    """The items of a sequence with its conditional and inserted items unnested."""
    chain: list = []
    for item, loc in pairs:
        if isinstance(item, dict) and len(item) == 1 and is_expression(next(iter(item))):
            key, val = next(iter(item.items()))
            m = _EXPR_KEY.match(key)
            kind = m.group(1) if m else "insert"
            if kind in ("if", "elseif", "else") and not decide(kind, m.group(2), params and params.values, chain):
                continue
            if isinstance(val, list):
                yield from _items([(v, loc.child(key, i)) for i, v in enumerate(val)], params)
            elif val is not None:
                yield from _items([(val, loc.child(key))], params)
        else:
            chain = []
            yield item, loc


def origin(origins: dict, path: tuple) -> Loc:
    """Where the node at ``path`` of a resolved document was written (its nearest recorded ancestor)."""
    while path not in origins and path:
        path = path[:-1]
    return origins[path]

