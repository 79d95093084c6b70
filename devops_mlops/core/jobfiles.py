"""The job files as one set of jobs: the jobs folder, the bundle's ``databricks.yml`` and its includes.

``resolve_jobs(config, target, bundle, documents, *, whoami, files) -> LoadedJobs``: every job of
the parsed files, resolved and validated, plus what the files hold that mlops leaves to the
bundle CLI (``left_to_bundle``: resource type -> keys). :mod:`devops_mlops.files.jobs` finds and
reads the files (each checked by :func:`check_document`) and calls it.

A file may hold, at the top level, the keys of a bundle configuration file
(:data:`devops_mlops.core.bundle.BUNDLE_TOP_KEYS`; only ``resources`` is read here) and keys that
only carry a YAML anchor (``common_permissions: &permissions``). Every file is parsed before any
reference is resolved, so ``${resources.<type>.<key>.<field>}`` may name a resource of any file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError
from ..yamlload import Lines, line_of
from .bundle import BUNDLE_TOP_KEYS, Bundle, state_patterns
from .bundle_refs import Place, Resolver
from .job_paths import ProjectFiles, workspace_paths
from .job_refs import order
from .jobdefs import JobDefinition, validate_job

#: one job file as read: its path, its parsed YAML (a mapping) and the line of every key path
Document = tuple[Path, dict, Lines]


@dataclass
class LoadedJobs:
    jobs: dict[str, JobDefinition] = field(default_factory=dict)
    #: resource type -> keys, for the resources that are not jobs (the bundle CLI deploys them)
    left_to_bundle: dict[str, list[str]] = field(default_factory=dict)
    bundle: Path | None = None
    #: globs of the metadata path the bundle CLI writes into the jobs it deploys (see bundle.state_patterns)
    bundle_state: list[str] = field(default_factory=list)

    def note(self) -> str | None:
        """One line naming the resources mlops leaves to the bundle, or None."""
        if not self.left_to_bundle:
            return None
        def named(keys: list[str]) -> str:
            return ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")

        parts = [f"{t} ({named(keys)})" for t, keys in sorted(self.left_to_bundle.items())]
        return "left to the bundle CLI (mlops deploys jobs only): " + "; ".join(parts)


def _top_key_line(text_lines: list[str], key: Any) -> int | None:
    """The 1-based line where the top-level ``key`` is written (``key:`` at column 0)."""
    pattern = re.compile(rf"^['\"]?{re.escape(str(key))}['\"]?\s*:")
    return next((i + 1 for i, text in enumerate(text_lines) if pattern.match(text)), None)


def _anchor_carrier(text_lines: list[str], line: int | None) -> bool:
    """A top-level key whose value is written with an anchor (``common: &name``, the anchor on the
    key's line or alone on the next one)."""
    if not line:
        return False
    rest = text_lines[line - 1].split(":", 1)[1].strip()
    if rest.startswith("&"):
        return True
    return not rest and line < len(text_lines) and text_lines[line].lstrip().startswith("&")


def check_document(source: Path, data: Any, lines: Lines, text_lines: list[str]) -> Document:
    """A job file's parsed YAML (not empty), checked: a mapping of the bundle's top-level keys (or
    keys that only carry an anchor, found in ``text_lines``, the file's lines) whose ``resources``
    map each resource type to definitions. ConfigError naming the file and the line."""
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping with resources.jobs", path=source, line=1)
    for k in data:
        if k in BUNDLE_TOP_KEYS:
            continue
        line = _top_key_line(text_lines, k)
        if _anchor_carrier(text_lines, line):
            continue
        raise ConfigError(f"{k}: unknown top-level key (job files hold resources: {{jobs: ...}}; a key that "
                          "only carries a YAML anchor is written `key: &anchor ...`)",
                          path=source, line=line or line_of(lines, (k,)))
    resources = data.get("resources") or {}
    if not isinstance(resources, dict):
        raise ConfigError("resources: expected a mapping", path=source, line=line_of(lines, ("resources",)))
    for rtype, defs in resources.items():
        if not isinstance(defs, dict):
            raise ConfigError(f"resources.{rtype}: expected a mapping of key -> definition",
                              path=source, line=line_of(lines, ("resources", rtype)))
    return source, data, lines


def resolve_jobs(config, target, bundle: Bundle | None, documents: list[Document], *,
                 whoami: Callable[[], dict] | None, files: ProjectFiles) -> LoadedJobs:
    """The jobs of ``documents`` (in file order) for ``target``. ``whoami``: returns the current user
    (the SCIM Me shape), asked only when a file uses it; ``files``: the project's files, for the
    paths the jobs name."""
    variables = dict(bundle.variables) if bundle else {}
    variables.update(config.variables or {})
    variables.update(target.variables or {})
    resolver = Resolver(
        target=target.name, project=config.project, bundle_name=bundle.name if bundle else None,
        variables=variables, lookups=set(bundle.lookups) - set(variables) if bundle else set(),
        workspace=workspace_paths(config, target),
        whoami=whoami,
        var_sources=f"mlops.yaml and {bundle.path.name}" if bundle else "mlops.yaml",
    )
    out = LoadedJobs(bundle=bundle.path if bundle else None, bundle_state=state_patterns(bundle, target.name))
    for source, data, lines in documents:
        for rtype, defs in (data.get("resources") or {}).items():
            for key, definition in defs.items():
                place = Place(source, lines, ("resources", rtype, key))
                seen = resolver.resources.setdefault(str(rtype), {})
                if str(key) in seen:
                    raise place.error(f"{rtype} {key!r} is also defined in {seen[str(key)][1].source}")
                seen[str(key)] = (definition, place)
                if rtype != "jobs":
                    out.left_to_bundle.setdefault(str(rtype), []).append(str(key))
    refs: dict[str, set[str]] = {}
    bundle_files = {p.resolve() for p in ((bundle.path, *bundle.includes) if bundle else ())}
    for key, (job, place) in resolver.resources.get("jobs", {}).items():
        resolver.job_refs = set()
        job = resolver.substitute(job, place)
        if key in resolver.job_refs:
            raise place.error(f"job {key!r} names its own id (${{resources.jobs.{key}.id}})")
        refs[key] = set(resolver.job_refs)
        out.jobs[key] = validate_job(config, target, key, job, place.path, place.lines, place.source, files)
        out.jobs[key].job_refs = refs[key]
        if bundle is not None and bundle.permissions is not None and place.source.resolve() in bundle_files:
            own = out.jobs[key].permissions or []
            merged = bundle.permissions + [e for e in own if e not in bundle.permissions]
            if sum(e["permission_level"] == "IS_OWNER" for e in merged) > 1:
                raise Place(place.source, place.lines, place.path + ("permissions",)).error(
                    f"an IS_OWNER here and another in {bundle.path.name}'s permissions: a job has exactly one owner")
            out.jobs[key].permissions = merged
    try:
        order(refs)
    except ValueError as exc:
        first = sorted(k for k in refs if refs[k])[0]
        raise resolver.resources["jobs"][first][1].error(
            f"jobs name each other's ids in a cycle ({exc}): none of them can be created first") from None
    return out
