"""YAML loading that remembers where each value came from.

:func:`load_with_lines` returns the plain Python value and a map from key path
(a tuple of keys and indexes) to its 1-based line, so validation errors can
name the file line. Malformed YAML becomes an :class:`InputError` naming the
file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import InputError

Lines = dict[tuple, int]


class _Loader(yaml.SafeLoader):
    pass


def _walk(loader: _Loader, node: yaml.Node, path: tuple, lines: Lines) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise InputError(
                    f"mapping key must be a plain value, got {type(key).__name__}",
                    line=key_node.start_mark.line + 1,
                )
            if key in out:
                raise InputError(f"duplicate key {key!r}", line=key_node.start_mark.line + 1)
            out[key] = _walk(loader, value_node, path + (key,), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(loader, item, path + (i,), lines) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def parse_with_lines(text: str, source: str | Path) -> tuple[Any, Lines]:
    lines: Lines = {}
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, lines
        return _walk(loader, node, (), lines), lines
    except InputError as exc:
        raise InputError(exc.message, path=source, line=exc.line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "malformed YAML"
        raise InputError(f"malformed YAML: {problem}", path=source, line=line) from None
    except yaml.YAMLError as exc:
        raise InputError(f"malformed YAML: {exc}", path=source) from None
    finally:
        loader.dispose()


def load_with_lines(path: str | Path) -> tuple[Any, Lines]:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path=p) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=p) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path=p) from None
    return parse_with_lines(text, p)


def line_of(lines: Lines, path: tuple) -> int | None:
    """The line of ``path`` or of its nearest ancestor that has one."""
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        path = path[:-1]


def dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"
