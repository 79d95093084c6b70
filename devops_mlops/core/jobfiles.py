"""Reading the job files: the jobs folder, the bundle's ``databricks.yml`` and its includes.

``load_jobs(config, target, whoami=None) -> LoadedJobs``: every job, validated and resolved
(:func:`devops_mlops.core.jobdefs.load_job_definitions` returns its ``jobs``), plus what the
files hold that mlops leaves to the bundle CLI (``left_to_bundle``: resource type -> keys).

A file may hold, at the top level, the keys of a bundle configuration file
(:data:`devops_mlops.core.bundle.BUNDLE_TOP_KEYS`; only ``resources`` is read here) and keys that
only carry a YAML anchor (``common_permissions: &permissions``). Every file is parsed before any
reference is resolved, so ``${resources.<type>.<key>.<field>}`` may name a resource of any file.
"""

from __future__ import annotations

import functools
import getpass
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError
from ..yamlload import Lines, line_of, load_with_lines
from .bundle import BUNDLE_TOP_KEYS, read_bundle, state_patterns
from .bundle_refs import Place, Resolver
from .job_refs import order


@dataclass
class LoadedJobs:
    jobs: dict[str, Any] = field(default_factory=dict)
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


def job_files(config, bundle=None) -> list[Path]:
    """The jobs folder's YAML files (sorted), then the bundle file and the files it includes."""
    folder = config.jobs_dir
    out: list[Path] = []
    if folder.is_dir():
        out = sorted(p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
    if bundle is not None:
        seen = {p.resolve() for p in out}
        for extra in (bundle.path, *bundle.includes):
            if extra.resolve() not in seen:
                seen.add(extra.resolve())
                out.append(extra)
    return out


def workspace_paths(config, target) -> dict[str, str]:
    """``${workspace.root_path}`` / ``${workspace.file_path}``: where sync puts the project."""
    if target.backend == "databricks":
        root = (target.repo_path or target.workspace_dir or "/").rstrip("/") or "/"
    else:
        root = str(config.state_dir / "workspace" / target.name)
    return {"root_path": root, "file_path": root}


@functools.lru_cache(maxsize=1)
def local_user() -> dict:
    """The current user of the local backend: git's user.email, else the OS user."""
    name = ""
    try:
        name = subprocess.run(["git", "config", "user.email"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        os_user = getpass.getuser()
    except (OSError, KeyError):
        os_user = os.environ.get("USER") or "user"
    return {"userName": name or os_user, "displayName": name or os_user, "id": os_user}


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


def _parse(source: Path) -> tuple[dict, Lines] | None:
    data, lines = load_with_lines(source)  # malformed YAML: InputError naming file and line
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping with resources.jobs", path=source, line=1)
    text_lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
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
    return data, lines


def load_jobs(config, target, whoami: Callable[[], dict] | None = None) -> LoadedJobs:
    from .jobdefs import validate_job

    bundle = read_bundle(config, target)
    parsed: list[tuple[Path, dict, Lines]] = []
    for source in job_files(config, bundle):
        got = _parse(source)
        if got is not None:
            parsed.append((source, *got))
    variables = dict(bundle.variables) if bundle else {}
    variables.update(config.variables or {})
    variables.update(target.variables or {})
    resolver = Resolver(
        target=target.name, project=config.project, bundle_name=bundle.name if bundle else None,
        variables=variables, lookups=set(bundle.lookups) - set(variables) if bundle else set(),
        workspace=workspace_paths(config, target),
        whoami=whoami or (local_user if target.backend != "databricks" else None),
        var_sources=f"mlops.yaml and {bundle.path.name}" if bundle else "mlops.yaml",
    )
    out = LoadedJobs(bundle=bundle.path if bundle else None, bundle_state=state_patterns(bundle, target.name))
    for source, data, lines in parsed:
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
        out.jobs[key] = validate_job(config, target, key, job, place.path, place.lines, place.source)
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
