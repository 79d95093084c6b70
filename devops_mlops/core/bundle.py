"""A Databricks Asset Bundle beside the project: what its job files need from ``databricks.yml``.

Public API:

``parse_bundle(path, data, lines, target) -> Bundle``
    The bundle file's parsed document (:func:`devops_mlops.files.jobs.read_bundle` finds and
    reads it): the bundle name, its variables for ``target`` and its ``include`` globs, checked
    (exit 2 naming the file and the line, before anything is sent). The files the globs name
    are filled in by the reader.

Variables, lowest to highest precedence: the bundle's ``variables.<n>.default``, the
bundle's ``targets.<target>.variables.<n>``, mlops.yaml ``variables``, mlops.yaml
``targets.<target>.variables``. A bundle variable with a ``lookup`` (resolved by the
bundle CLI from the workspace) and no value is kept in ``lookups``: a job file that uses
it stops with exit 2 naming it, unless mlops.yaml gives it a value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..yamlload import Lines, dotted, line_of

BUNDLE_NAMES = ("databricks.yml", "databricks.yaml")
#: top-level keys of a bundle configuration file (databricks.yml and the files it includes)
BUNDLE_TOP_KEYS = ("bundle", "include", "variables", "targets", "resources", "workspace", "artifacts",
                   "sync", "permissions", "run_as", "presets", "experimental", "scripts", "python")


@dataclass
class Bundle:
    path: Path
    name: str | None
    #: name -> value, for the target (defaults, then the target's values)
    variables: dict[str, Any] = field(default_factory=dict)
    #: variables that only have a lookup (the bundle CLI resolves them from the workspace)
    lookups: set[str] = field(default_factory=set)
    #: the ``include`` globs, relative to the bundle's folder
    include_globs: list[str] = field(default_factory=list)
    #: the files the include globs name (sorted per glob, in glob order, without repeats)
    includes: list[Path] = field(default_factory=list)
    #: the target's ``workspace.root_path`` as written (None: the bundle CLI's default)
    root_path: str | None = None
    #: the top-level (or the target's) ``permissions``: the ACL every job of the bundle gets
    permissions: list[dict[str, str]] | None = None
    lines: Lines = field(default_factory=dict, repr=False)


def _err(path: Path, lines: Lines, key: tuple, message: str) -> ConfigError:
    return ConfigError(f"{dotted(key)}: {message}", path=path, line=line_of(lines, key))


def _variable_values(path: Path, data: dict, lines: Lines, target: str) -> tuple[dict, set]:
    values: dict[str, Any] = {}
    lookups: set[str] = set()
    declared = data.get("variables") or {}
    if not isinstance(declared, dict):
        raise _err(path, lines, ("variables",), "expected a mapping of variable name -> {default, description}")
    for name, spec in declared.items():
        if isinstance(spec, dict):
            if "default" in spec:
                values[str(name)] = spec["default"]
            elif "lookup" in spec:
                lookups.add(str(name))
        else:  # shorthand: a plain value
            values[str(name)] = spec
    targets = data.get("targets") or {}
    if not isinstance(targets, dict):
        raise _err(path, lines, ("targets",), "expected a mapping of target name -> settings")
    mine = targets.get(target) or {}
    if not isinstance(mine, dict):
        raise _err(path, lines, ("targets", target), "expected a mapping")
    overrides = mine.get("variables") or {}
    if not isinstance(overrides, dict):
        raise _err(path, lines, ("targets", target, "variables"), "expected a mapping of variable name -> value")
    for name, value in overrides.items():
        if isinstance(value, dict) and "lookup" in value and "default" not in value:
            lookups.add(str(name))
            values.pop(str(name), None)
            continue
        if isinstance(value, dict) and set(value) <= {"default", "description", "type"} and "default" in value:
            value = value["default"]
        values[str(name)] = value
        lookups.discard(str(name))
    return values, lookups


def _include_globs(path: Path, data: dict, lines: Lines) -> list[str]:
    globs = data.get("include") or []
    if isinstance(globs, str):
        globs = [globs]
    if not isinstance(globs, list):
        raise _err(path, lines, ("include",), "expected a list of file globs")
    for i, pattern in enumerate(globs):
        if not isinstance(pattern, str) or pattern.startswith("/") or ".." in Path(pattern).parts:
            raise _err(path, lines, ("include", i), "expected a glob relative to the bundle folder")
    return list(globs)


def parse_bundle(path: Path, data: Any, lines: Lines, target) -> Bundle:
    """The bundle of the file ``path`` for ``target``, from its parsed YAML (``includes`` left for the reader)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the top level of a bundle file must be a mapping", path=path, line=1)
    info = data.get("bundle") or {}
    if not isinstance(info, dict):
        raise _err(path, lines, ("bundle",), "expected a mapping with name")
    name = info.get("name")
    values, lookups = _variable_values(path, data, lines, target.name)
    root_path = None
    for scope in (data, ((data.get("targets") or {}).get(target.name) or {})):
        ws = scope.get("workspace") if isinstance(scope, dict) else None
        if isinstance(ws, dict) and isinstance(ws.get("root_path"), str):
            root_path = ws["root_path"]
    return Bundle(path, str(name) if name is not None else None, values, lookups,
                  include_globs=_include_globs(path, data, lines), root_path=root_path, lines=lines,
                  permissions=_permissions(path, data, lines, target.name))


def _permissions(path: Path, data: dict, lines: Lines, target: str) -> list[dict[str, str]] | None:
    from .job_permissions import PermissionsError, parse

    mine = (data.get("targets") or {}).get(target) or {}
    key = ("targets", target, "permissions") if isinstance(mine, dict) and "permissions" in mine else ("permissions",)
    block = mine["permissions"] if key[0] == "targets" else data.get("permissions")
    if block is None:
        return None
    try:
        return parse(block)
    except PermissionsError as exc:
        raise _err(path, lines, key + exc.key, exc.message) from None


def state_patterns(bundle: Bundle | None, target: str) -> list[str]:
    """Glob patterns of the ``deployment.metadata_file_path`` that the bundle CLI writes into the
    jobs it deploys for this bundle and target (references in a configured root_path match anything)."""
    if bundle is None or not bundle.name:
        return []
    import re

    out = [f"*/.bundle/{bundle.name}/{target}/state/metadata.json"]
    if bundle.root_path:
        root = re.sub(r"\$\{[^}]*\}", "*", bundle.root_path).rstrip("/")
        if root.startswith("~/"):
            root = "*/" + root[2:]
        out.append(f"{root}/state/metadata.json")
    return out
