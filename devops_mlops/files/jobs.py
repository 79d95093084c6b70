"""The job files on disk: the jobs folder, a Databricks Asset Bundle's ``databricks.yml`` beside the
project and the files it includes, found and read here, then resolved by :mod:`devops_mlops.core`.

``load_jobs(config, target, *, whoami=None, tracked=None) -> LoadedJobs`` and
``load_job_definitions(...)`` (its ``jobs``: key -> :class:`~devops_mlops.core.jobdefs.JobDefinition`,
in file order). ``whoami`` returns the current user (asked only when a file uses
``${workspace.current_user.*}``); ``tracked`` is what a Git folder target holds, the files committed
at HEAD under the project root (:func:`committed_files` asks the local repository port; None: not
checked).

``find_bundle(config)``: the ``bundle:`` file of mlops.yaml (relative to it), else ``databricks.yml``
/ ``databricks.yaml`` next to mlops.yaml, else None. ``read_bundle(config, target)`` parses it
(malformed YAML: exit 2 naming it and the line, before anything is sent) with the files its
``include`` globs name.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..core.bundle import BUNDLE_NAMES, Bundle, parse_bundle
from ..core.job_paths import git_folder
from ..core.jobdefs import JobDefinition
from ..core.jobfiles import Document, LoadedJobs, check_document, resolve_jobs
from ..errors import ConfigError
from ..yamlload import load_with_lines


@dataclass(frozen=True)
class DiskFiles:
    """The project's files as they are on disk (:class:`devops_mlops.core.job_paths.ProjectFiles`)."""

    tracked: frozenset[str] | None = None

    def has_file(self, path: Path) -> bool:
        return path.is_file()

    def matching(self, pattern: Path) -> list[Path]:
        return [Path(p) for p in sorted(glob.glob(str(pattern)))]


def committed_files(config, target, repository) -> frozenset[str] | None:
    """What ``target``'s jobs may name: for a Git folder target, the files committed at HEAD under the
    project root, asked of ``repository`` (a :class:`devops_mlops.ports.git.Repository`); None (not
    checked) for any other target, or outside a git repository."""
    return repository.tracked_files(config.root) if git_folder(target) else None


def find_bundle(config) -> Path | None:
    """The bundle file of the project, or None (see the module docstring)."""
    named = getattr(config, "bundle", None)
    if named:
        path = config.root / named
        if not path.is_file():
            raise ConfigError(f"bundle: no file {named!r} (relative to {config.path.name})",
                              path=config.path, line=config.line("bundle"))
        return path
    for name in BUNDLE_NAMES:
        if (config.root / name).is_file():
            return config.root / name
    return None


def read_bundle(config, target) -> Bundle | None:
    """The project's bundle for ``target`` with its included job files; None without a bundle file."""
    path = find_bundle(config)
    if path is None:
        return None
    data, lines = load_with_lines(path)  # malformed YAML: InputError naming the file and line
    bundle = parse_bundle(path, data, lines, target)
    bundle.path = path.resolve()
    bundle.includes = _included(bundle.path.parent, bundle.include_globs)
    return bundle


def _included(base: Path, globs: list[str]) -> list[Path]:
    """The YAML files the globs name under ``base``: sorted per glob, in glob order, without repeats."""
    out: list[Path] = []
    seen: set[Path] = set()
    for pattern in globs:
        for found in sorted(base.glob(pattern)):
            if found.is_file() and found.suffix in (".yml", ".yaml") and found not in seen:
                seen.add(found)
                out.append(found)
    return out


def job_files(config, bundle: Bundle | None = None) -> list[Path]:
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


def read_document(source: Path) -> Document | None:
    """One job file, parsed and checked; None when it is empty."""
    data, lines = load_with_lines(source)  # malformed YAML: InputError naming file and line
    if data is None:
        return None
    text_lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
    return check_document(source, data, lines, text_lines)


def load_jobs(config, target, *, whoami: Callable[[], dict] | None = None,
              tracked: frozenset[str] | None = None) -> LoadedJobs:
    """Every job of the project's job files for ``target``, validated and resolved."""
    bundle = read_bundle(config, target)
    documents = [doc for doc in map(read_document, job_files(config, bundle)) if doc is not None]
    return resolve_jobs(config, target, bundle, documents, whoami=whoami, files=DiskFiles(tracked))


def load_job_definitions(config, target, *, whoami: Callable[[], dict] | None = None,
                         tracked: frozenset[str] | None = None) -> dict[str, JobDefinition]:
    """The jobs of :func:`load_jobs` by key, in file order."""
    return load_jobs(config, target, whoami=whoami, tracked=tracked).jobs
