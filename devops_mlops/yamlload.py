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


#: limits that keep a hostile file (an alias-expansion bomb, thousands of nested levels, a
#: huge file) to one clear error within seconds and bounded memory; real files are far below
MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 100
MAX_VALUES = 200_000


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.values = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        # PyYAML composes recursively: stop before Python's recursion limit does
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise InputError(f"nested deeper than {MAX_DEPTH} levels", line=self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


#: libyaml's parser and composer when PyYAML was built with it (the wheels are): about 10x faster
_CLoader = getattr(yaml, "CSafeLoader", None)
_OPENS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSES = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_LEAVES = (yaml.ScalarEvent, yaml.AliasEvent)


def _check_depth(text: str) -> None:
    """libyaml composes recursively in C, where a deep file would crash the process rather than raise:
    measure the nesting on the event stream (which libyaml produces without recursion) first."""
    depth = 0
    for event in yaml.parse(text, Loader=_CLoader):
        if isinstance(event, _OPENS) or isinstance(event, _LEAVES):
            if depth + 1 > MAX_DEPTH:
                raise InputError(f"nested deeper than {MAX_DEPTH} levels", line=event.start_mark.line + 1)
            depth += isinstance(event, _OPENS)
        elif isinstance(event, _CLOSES):
            depth -= 1


def _walk(loader: Any, node: yaml.Node, path: tuple, lines: Lines) -> Any:
    loader.values += 1
    if loader.values > MAX_VALUES:  # aliases (&a / *a) let a few lines stand for billions of values
        raise InputError(f"expands to more than {MAX_VALUES:,} values (YAML aliases?)", line=node.start_mark.line + 1)
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
    loader = None
    try:
        if _CLoader is not None:
            _check_depth(text)
            loader = _CLoader(text)
            loader.values = 0
        else:
            loader = _Loader(text)
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
        if loader is not None:
            loader.dispose()


def load_with_lines(path: str | Path) -> tuple[Any, Lines]:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{size / 1024 / 1024:.1f} MB is too large for a YAML file (at most {MAX_BYTES // 1024 // 1024} MB)",
                             path=p)
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path=p) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a YAML file", path=p) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=p) from None
    if b"\x00" in raw:
        raise InputError("binary file, not YAML text", path=p)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError("not UTF-8 text", path=p, line=raw[: exc.start].count(b"\n") + 1) from None
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
