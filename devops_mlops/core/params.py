"""``--param KEY=VALUE`` parsing shared by `mlops test` and `mlops run`."""

from __future__ import annotations

from ..errors import UsageError


def parse_params(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``KEY=VALUE`` pairs (the value may contain ``=``); a malformed one is a UsageError (exit 2)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param {item!r}: expected KEY=VALUE")
        out[key.strip()] = value
    return out
