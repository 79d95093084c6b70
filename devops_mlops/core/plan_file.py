"""Saved plans (``mlops sync|deploy --plan-out FILE`` / ``--plan FILE``): the document, plain logic, no I/O.

A plan file is one JSON object:

* ``format`` (``"mlops-plan"``), ``format_version``, ``toolkit_version``, ``command`` (sync | deploy);
* ``target``: the identity of the target it was computed for (name, backend, host, workspace_dir or
  repo_path, project) - applying it to another target is refused;
* ``selection``: what the command was limited to (``--job`` keys, ``sync PATH`` scope, ``--prune``,
  ``--force``), so the apply does exactly what was reviewed;
* ``remote_state``: a fingerprint of what the plan was computed from (``items``: one entry per remote
  object that can change the plan, ``digest``: sha256 over them); the apply recomputes it and
  refuses, naming each item that moved;
* the command's own sections (``jobs`` / ``sync``, ``artifacts``);
* ``integrity``: sha256 of every field (``target.host``, ``actions[2]``, ...) and one over them all,
  so a hand edit is named by its field. This detects edits and truncation; it is not a signature
  (anyone can recompute it), the pipeline artifact store is what protects the file.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

FORMAT = "mlops-plan"
FORMAT_VERSION = 1
#: the fields every plan has, besides the command's own sections
HEADER_FIELDS = ("format", "format_version", "toolkit_version", "command", "target", "selection", "remote_state")
COMMAND_FIELDS = {"deploy": ("jobs", "artifacts"), "sync": ("sync",)}


class PlanFileError(ValueError):
    """A plan file that cannot be applied here: ``field`` names where (exit 2)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"field {field}: {message}")
        self.field = field


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def _field_digests(doc: dict[str, Any]) -> dict[str, str]:
    """sha256 per field: one level into objects (``target.host``) and lists (``jobs.actions[2]``)."""
    out: dict[str, str] = {}

    def walk(prefix: str, value: Any, depth: int) -> None:
        if depth < 2 and isinstance(value, dict) and value:
            for k in sorted(value):
                walk(f"{prefix}.{k}", value[k], depth + 1)
        elif depth < 2 and isinstance(value, list) and value:
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v, depth + 1)
        else:
            out[prefix] = sha256(value)

    for key in sorted(doc):
        if key != "integrity":
            walk(key, doc[key], 0)
    return out


def seal(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with its ``integrity`` section (the header fields first, in a readable order)."""
    body = {k: doc[k] for k in HEADER_FIELDS if k in doc}
    body.update({k: v for k, v in doc.items() if k not in body and k != "integrity"})
    fields = _field_digests(body)
    body["integrity"] = {"algorithm": "sha256", "fields": fields, "digest": sha256(fields)}
    return body


def fingerprint(items: dict[str, Any]) -> dict[str, Any]:
    return {"digest": sha256(items), "items": items}


def check(doc: Any, command: str, identity: dict[str, Any], toolkit_version: str) -> dict[str, Any]:
    """The plan ``doc`` if it is ours, untouched, for ``command`` on the target ``identity``; else
    :class:`PlanFileError` naming the first field that is wrong."""
    if not isinstance(doc, dict):
        raise PlanFileError("format", f"not a plan written by mlops (a JSON {type(doc).__name__}, not an object)")
    if doc.get("format") != FORMAT:
        raise PlanFileError("format", f"not a plan written by mlops ({doc.get('format')!r}, expected {FORMAT!r})")
    if doc.get("format_version") != FORMAT_VERSION:
        raise PlanFileError("format_version", f"{doc.get('format_version')!r} is not a plan format this mlops "
                            f"reads (it reads {FORMAT_VERSION}); write the plan again with this version")
    integrity = doc.get("integrity")
    if not isinstance(integrity, dict) or not isinstance(integrity.get("fields"), dict):
        raise PlanFileError("integrity", "missing or malformed: the file was not written by `--plan-out`")
    recorded: dict[str, Any] = integrity["fields"]
    if integrity.get("digest") != sha256(recorded):
        raise PlanFileError("integrity", "the digests were edited after the plan was written")
    actual = _field_digests(doc)
    for name in sorted(set(recorded) | set(actual)):
        if name not in actual:
            raise PlanFileError(name, "removed after the plan was written")
        if name not in recorded:
            raise PlanFileError(name, "added after the plan was written")
        if recorded[name] != actual[name]:
            raise PlanFileError(name, "edited after the plan was written (its digest does not match)")
    if doc.get("toolkit_version") != toolkit_version:
        raise PlanFileError("toolkit_version", f"written by mlops {doc.get('toolkit_version')}, this is "
                            f"{toolkit_version}: plan and apply with the same version")
    if doc.get("command") != command:
        raise PlanFileError("command", f"a plan of `mlops {doc.get('command')}`, not of `mlops {command}`")
    missing = [f for f in HEADER_FIELDS + COMMAND_FIELDS[command] if f not in doc]
    if missing:
        raise PlanFileError(missing[0], "missing")
    target = doc["target"]
    for key, want in identity.items():
        have = target.get(key) if isinstance(target, dict) else None
        if have != want:
            raise PlanFileError(f"target.{key}", f"the plan is for {key} {have!r}, this target "
                                f"({identity.get('name')}) has {want!r}")
    return doc


def moved(before: dict[str, Any], after: dict[str, Any], describe) -> list[str]:
    """What differs between two fingerprints' ``items``, one readable line per item:
    ``describe(name, before_value, after_value)`` (either may be None: appeared / gone)."""
    out = []
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            out.append(describe(name, before.get(name), after.get(name)))
    return out
