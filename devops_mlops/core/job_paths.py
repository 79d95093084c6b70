"""Local paths in job definitions, resolved as bundles resolve them.

A relative path is looked up first from the folder of the YAML file that names it
(``notebook_path: ../src/hello.py`` in ``resources/``), then from the repository root (the
older mlops form). Then it is rewritten to where ``mlops sync`` puts that file on the target.

Covered: ``notebook_task.notebook_path``, ``spark_python_task.python_file``, task ``libraries``
(``whl``, ``jar``, ``egg``, ``requirements``) and job ``environments[].spec.dependencies`` that are
local paths (``./x``, ``../x``, a relative ``*.whl``, ``-r FILE``). A path with a scheme
(``dbfs:/``, ``s3://``) or that starts with ``/`` is sent as written; except a notebook path
under ``${workspace.file_path}``, which is mapped back to the repository file.

No I/O: which files exist is asked of a :class:`ProjectFiles` (:class:`devops_mlops.files.jobs.DiskFiles`
looks on disk), and a Git folder target's committed files come as data (``tracked``), read from the
local repository port by the caller.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Protocol

from ..errors import ConfigError

NOTEBOOK_EXTS = (".py", ".sql", ".scala", ".r", ".ipynb", ".R")
_LIB_KEYS = ("whl", "jar", "egg", "requirements")


class ProjectFiles(Protocol):
    """The project's files as path resolution sees them."""

    #: the files a Git folder target holds: those committed at HEAD under the project root (POSIX,
    #: relative to it); None when not known (another kind of target, or no git repository): not checked
    tracked: frozenset[str] | None

    def has_file(self, path: Path) -> bool:
        """Whether ``path`` is a file."""

    def matching(self, pattern: Path) -> list[Path]:
        """The paths the glob ``pattern`` matches, sorted."""


def _norm(p: Path) -> Path:
    return Path(os.path.normpath(os.path.abspath(p)))


def is_local(value: str) -> bool:
    return bool(value) and "://" not in value and ":/" not in value and not value.startswith("/")


def _candidates(config, rel: str, source: Path | None) -> list[Path]:
    out = []
    if source is not None:
        out.append(_norm(source.parent / rel))
    out.append(_norm(config.root / rel))
    return out


def find_file(config, rel: str, source: Path | None, files: ProjectFiles,
              exts: tuple[str, ...] = ()) -> Path | None:
    """The repository file ``rel`` names (from the YAML file's folder, then the root); ``exts``:
    extensions that may be left out (notebooks)."""
    for base in _candidates(config, rel, source):
        if files.has_file(base):
            return base
        for ext in exts:
            cand = base.with_name(base.name + ext)
            if files.has_file(cand):
                return cand
    return None


def workspace_paths(config, target) -> dict[str, str]:
    """``${workspace.root_path}`` / ``${workspace.file_path}``: where sync puts the project."""
    if target.backend == "databricks":
        root = (target.repo_path or target.workspace_dir or "/").rstrip("/") or "/"
    else:
        root = str(config.state_dir / "workspace" / target.name)
    return {"root_path": root, "file_path": root}


def git_folder(target) -> bool:
    """Whether ``target`` runs from a Databricks Git folder, which holds only what its branch has
    committed (so the files its jobs name must be committed: see :func:`require_committed`)."""
    return target.backend == "databricks" and bool(target.repo_path)


def from_file_path(config, target, path: str, file_path: str) -> str | None:
    """A workspace path under ``${workspace.file_path}`` as the repository-relative path it came from."""
    prefix = file_path.rstrip("/") + "/"
    if not path.startswith(prefix):
        return None
    rest = path[len(prefix):]
    if target.backend == "databricks" and target.repo_path:
        return rest
    return str(PurePosixPath(Path(config.notebooks).as_posix()) / rest)


def require_committed(target, rel: str, tracked: frozenset[str] | None) -> None:
    """A Git folder holds what its branch has: the repository file ``rel`` (relative to the project
    root, posix) must be among the ``tracked`` files, or the job naming it fails on Databricks.
    Unknown ``tracked`` (a project outside any git repository, a copy being planned) passes."""
    if tracked is not None and rel not in tracked:
        fix = ("commit and push it, or let mlops build and ship the package's wheel to a volume: artifacts.path"
               if rel.endswith(".whl") else "commit and push it")
        raise ConfigError(f"{rel} is not committed: the Git folder {target.repo_path} of target {target.name} "
                          f"holds only what its branch has, so the job would not find it on Databricks ({fix})")


def remote_file_path(config, target, found: Path, *, tracked: frozenset[str] | None) -> str:
    """Where sync puts the repository file ``found`` (its extension kept); in Git folder mode it must
    be among the ``tracked`` files (when they are known)."""
    root = _norm(config.root)
    if target.backend != "databricks":
        return str(found)
    if target.repo_path:
        try:
            rel = found.relative_to(root)
        except ValueError:
            raise ConfigError(f"{found} is outside the repository {root}") from None
        require_committed(target, rel.as_posix(), tracked)
        return str(PurePosixPath(target.repo_path.rstrip("/") or "/") / rel.as_posix())
    try:
        rel = found.relative_to(_norm(config.notebooks_dir))
    except ValueError:
        raise ConfigError(f"{found.relative_to(root) if found.is_relative_to(root) else found} is not under the "
                          f"notebooks folder {config.notebooks!r}: sync uploads only that folder in workspace mode",
                          hint="use a Git folder target (repo_path), or a path on a volume") from None
    return str(PurePosixPath((target.workspace_dir or "/").rstrip("/") or "/") / rel.as_posix())


def _rewrite(config, target, value: str, source: Path, what: str, files: ProjectFiles, must_exist: bool = True) -> str:
    found = find_file(config, value, source, files)
    if found is None and not must_exist:
        # a glob or a file built later (a wheel): resolve from the YAML file's folder as written
        pattern = _norm(source.parent / value)
        matches = files.matching(pattern)
        if len(matches) == 1:
            found = matches[0]
        elif _norm(config.root) in pattern.parents:
            found = pattern
    if found is None:
        raise ConfigError(f"no {what} {value!r} (looked in {source.parent.name or '.'}/ and the repository root)")
    return remote_file_path(config, target, found, tracked=files.tracked)


def rewrite_task_files(config, target, task: dict, source: Path, files: ProjectFiles) -> dict:
    """``task`` with its local ``python_file`` and ``libraries`` paths rewritten. Raises ConfigError
    (message only; the caller names the place) with the key path as ``exc.key``."""
    task = dict(task)
    spt = task.get("spark_python_task")
    if isinstance(spt, dict) and isinstance(spt.get("python_file"), str) and is_local(spt["python_file"]) \
            and spt.get("source", "WORKSPACE") != "GIT":
        try:
            task["spark_python_task"] = {**spt, "python_file": _rewrite(config, target, spt["python_file"], source,
                                                                        "python file", files)}
        except ConfigError as exc:
            exc.key = ("spark_python_task", "python_file")
            raise
    libs = task.get("libraries")
    if isinstance(libs, list):
        new = []
        for i, lib in enumerate(libs):
            if isinstance(lib, dict):
                lib = dict(lib)
                for k in _LIB_KEYS:
                    if isinstance(lib.get(k), str) and is_local(lib[k]):
                        try:
                            lib[k] = _rewrite(config, target, lib[k], source, k, files, must_exist=k != "whl")
                        except ConfigError as exc:
                            exc.key = ("libraries", i, k)
                            raise
            new.append(lib)
        task["libraries"] = new
    return task


def _local_dependency(dep: str) -> str | None:
    if dep.startswith("-r "):
        path = dep[3:].strip()
        return path if is_local(path) else None
    if dep.startswith(("./", "../")) or (dep.endswith(".whl") and is_local(dep) and "/" in dep):
        return dep
    return None


def rewrite_environments(config, target, environments: list, source: Path, files: ProjectFiles) -> list:
    out = []
    for i, env in enumerate(environments):
        spec = env.get("spec") if isinstance(env, dict) else None
        deps = spec.get("dependencies") if isinstance(spec, dict) else None
        if isinstance(deps, list):
            new = []
            for j, dep in enumerate(deps):
                local = _local_dependency(dep) if isinstance(dep, str) else None
                if local is not None:
                    try:
                        remote = _rewrite(config, target, local, source, "dependency", files,
                                          must_exist=not local.endswith(".whl"))
                    except ConfigError as exc:
                        exc.key = ("environments", i, "spec", "dependencies", j)
                        raise
                    dep = f"-r {remote}" if dep.startswith("-r ") else remote
                new.append(dep)
            env = {**env, "spec": {**spec, "dependencies": new}}
        out.append(env)
    return out
