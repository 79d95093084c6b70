"""A small typed-dataclass validator for YAML documents.

``build(cls, value, path, lines, source)`` turns plain YAML values into the
dataclass ``cls``, rejecting unknown keys and wrong types with a
:class:`ConfigError` that names the key path and the file line.
Field metadata: ``alias`` (the YAML key when it differs), ``required``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union

from .errors import ConfigError
from .yamlload import Lines, dotted, line_of


class _Missing:
    pass


MISSING = _Missing()


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is str:
        return "a string"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is bool:
        return "true or false"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (list, tuple):
        return "a list"
    if origin is dict or dataclasses.is_dataclass(tp):
        return "a mapping"
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    return getattr(tp, "__name__", str(tp))


def _fail(message: str, path: tuple, lines: Lines, source: str) -> ConfigError:
    return ConfigError(f"{dotted(path)}: {message}", path=source, line=line_of(lines, path))


def build(tp: Any, value: Any, path: tuple, lines: Lines, source: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return build(arg, value, path, lines, source)
            except ConfigError as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        raise _fail(f"expected {_type_name(tp)}, got {_describe(value)}", path, lines, source)
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise _fail(f"expected {_type_name(tp)}, got {value!r}", path, lines, source)
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise _fail(f"expected true or false, got {_describe(value)}", path, lines, source)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(f"expected an integer, got {_describe(value)}", path, lines, source)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(f"expected a number, got {_describe(value)}", path, lines, source)
        return float(value)
    if tp is str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise _fail(f"expected a string, got {_describe(value)}", path, lines, source)
        return str(value)
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        if isinstance(value, (str, int, float)) and typing.get_args(tp) and typing.get_args(tp)[0] is str:
            value = [value]  # a single code where a list is expected
        if not isinstance(value, list):
            raise _fail(f"expected a list, got {_describe(value)}", path, lines, source)
        return [build(item, v, path + (i,), lines, source) for i, v in enumerate(value)]
    if origin is dict:
        key_tp, val_tp = typing.get_args(tp) or (str, Any)
        if not isinstance(value, dict):
            raise _fail(f"expected a mapping, got {_describe(value)}", path, lines, source)
        return {str(k): build(val_tp, v, path + (k,), lines, source) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise _fail(f"expected a mapping, got {_describe(value)}", path, lines, source)
        hints = typing.get_type_hints(tp)
        by_key = {}
        for f in dataclasses.fields(tp):
            if not f.init:
                continue
            by_key[f.metadata.get("alias", f.name)] = f
        unknown = [k for k in value if k not in by_key]
        if unknown:
            key = unknown[0]
            known = ", ".join(sorted(by_key))
            raise _fail(f"unknown key {key!r} (known: {known})", path + (key,), lines, source)
        kwargs = {}
        for key, f in by_key.items():
            if key in value:
                kwargs[f.name] = build(hints[f.name], value[key], path + (key,), lines, source)
            elif f.metadata.get("required"):
                raise _fail(f"missing required key {key!r}", path, lines, source)
        obj = tp(**kwargs)
        check = getattr(obj, "_validate", None)
        if check is not None:
            problem = check()
            if problem:
                sub, message = problem if isinstance(problem, tuple) else ((), problem)
                raise _fail(message, path + tuple(sub), lines, source)
        return obj
    raise TypeError(f"unsupported schema type {tp!r}")  # a bug in our schema


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def field(default: Any = MISSING, *, alias: str | None = None, required: bool = False, factory: Any = None) -> Any:
    meta = {}
    if alias:
        meta["alias"] = alias
    if required:
        meta["required"] = True
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    if default is MISSING:
        return dataclasses.field(default=None, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)
