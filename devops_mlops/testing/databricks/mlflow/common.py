"""What the MLflow areas of the Databricks emulator share: request fields, errors, paging and the
search-filter subset (``attributes.x = 'y' and tags.k LIKE 'v%' and metrics.m > 1``)."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from ...http import HttpError, Request
from ..server import err

__all__ = ["TRACKING_ROOT", "arg", "arg_list", "bad", "column", "err", "join", "like", "matches", "missing", "need",
           "paginate", "rel_path", "tag_dict"]

TRACKING_ROOT = "/databricks/mlflow-tracking"


def bad(message: str) -> HttpError:
    return err(400, "INVALID_PARAMETER_VALUE", message)


def missing(message: str) -> HttpError:
    return err(404, "RESOURCE_DOES_NOT_EXIST", message)


def arg(q: Request, name: str, default: Any = None) -> Any:
    """A request field: from the JSON body (POST/PATCH/DELETE) or the query string (GET)."""
    if isinstance(q.json, dict) and name in q.json:
        return q.json[name]
    return q.arg(name, default)


def arg_list(q: Request, name: str) -> list:
    if isinstance(q.json, dict) and name in q.json:
        value = q.json[name]
        return list(value) if isinstance(value, list) else [value]
    return list(q.query.get(name) or [])


def need(q: Request, name: str) -> Any:
    value = arg(q, name)
    if value in (None, ""):
        raise bad(f"Missing value for required parameter '{name}'.")
    return value


def like(value: str, pattern: str, case: bool = True) -> bool:
    """SQL LIKE (``%`` and ``_``), or ILIKE with ``case=False``."""
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, 0 if case else re.I) is not None


def rel_path(path: str | None) -> str:
    """A path relative to an artifact root: no leading slash, no '..'."""
    path = (path or "").strip("/")
    if not path:
        return ""
    norm = posixpath.normpath(path)
    if norm == ".." or norm.startswith("../"):
        raise bad(f"Invalid artifact path '{path}'.")
    return "" if norm == "." else norm


def join(root: str, path: str | None) -> str:
    rel = rel_path(path)
    return f"{root}/{rel}" if rel else root


def paginate(items: list, q: Request, key: str, default_max: int = 100) -> dict:
    """One page of ``items`` under ``key`` (``page_token`` is the offset, ``max_results`` the size)."""
    start = int(arg(q, "page_token") or 0)
    size = int(arg(q, "max_results") or default_max)
    out: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        out["next_page_token"] = str(start + size)
    return out


def tag_dict(pairs: list | None) -> dict[str, str]:
    """``[{key, value}]`` -> ``{key: value}``."""
    return {t["key"]: t.get("value", "") for t in pairs or []}


_CLAUSE = re.compile(r"^\s*(?:(\w+)\.)?(`[^`]+`|\"[^\"]+\"|[\w.\-]+)\s*(!=|>=|<=|=|>|<|LIKE|ILIKE)\s*(.+?)\s*$",
                     re.I)
_GROUPS = {"attributes": "attr", "attribute": "attr", "attr": "attr", "run": "attr", "tags": "tags", "tag": "tags",
           "params": "params", "param": "params", "parameters": "params", "metrics": "metrics", "metric": "metrics"}


def column(text: str) -> tuple[str, str]:
    """The (group, key) a filter or order_by column names: ``tags.x`` -> (tags, x); bare names are attributes."""
    m = re.fullmatch(r"(?:(\w+)\.)?(`[^`]+`|\"[^\"]+\"|[\w.\-]+)", text.strip())
    if not m:
        raise bad(f"Invalid order_by clause '{text}'.")
    group = _GROUPS.get((m.group(1) or "attributes").lower())
    key = m.group(2).strip('`"')
    if group is None:  # a dotted name without a prefix: an attribute
        group, key = "attr", text.strip().strip('`"')
    return group, {"created": "start_time", "Created": "start_time", "run name": "run_name"}.get(key, key)


def matches(record: dict, filter_string: str | None) -> bool:
    """Whether ``record`` ({group: {key: value}}) passes every ``and`` clause of the filter."""
    for clause in re.split(r"\s+and\s+", filter_string or "", flags=re.I):
        if not clause.strip():
            continue
        m = _CLAUSE.match(clause)
        if not m:
            raise bad(f"Error on parsing filter '{filter_string}'.")
        group, key = column(f"{m.group(1) + '.' if m.group(1) else ''}{m.group(2)}")
        op, raw = m.group(3).upper(), m.group(4)
        value: Any = raw[1:-1] if raw[:1] in "'\"" else float(raw)
        have = record.get(group, {}).get(key)
        if have is None:
            return False
        if isinstance(value, float):
            have = float(have)
        else:
            have = str(have)
        ok = {"=": have == value, "!=": have != value, ">": have > value, ">=": have >= value,
              "<": have < value, "<=": have <= value}.get(op)
        if ok is None:
            ok = like(str(have), str(value), op == "LIKE")
        if not ok:
            return False
    return True
