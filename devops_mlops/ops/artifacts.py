"""The wheels a Databricks deploy ships: build, wire into the job settings, upload once per hash.

Called by :func:`devops_mlops.ops.deploy.deploy` after the job definitions are loaded:
:func:`prepare` builds the project's package (``package:`` in mlops.yaml; by default the
pyproject.toml next to it) and, with ``artifacts.toolkit: wheel``, the toolkit's own, then adds
them (and the pinned toolkit requirement, ``artifacts.toolkit: pin``) to every task
(:func:`devops_mlops.core.artifacts.wire`) and looks up which are on the target already.
:func:`upload` stores the missing ones before any job changes, so no job ever names a wheel
that is not there. A package that does not build stops the deploy before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..core.artifacts import Artifact, remote_path, requirements, wire
from ..errors import ConfigError
from .wheels import build_wheel, toolkit_source

TOOLKIT = "devops-mlops"


@dataclass
class ShipPlan:
    location: str
    artifacts: list[Artifact] = field(default_factory=list)
    toolkit_pin: str | None = None
    #: job key -> {compute kind: tasks wired}
    wired: dict[str, dict[str, int]] = field(default_factory=dict)
    build_seconds: float = 0.0
    uploaded_bytes: int = 0

    @property
    def requirements(self) -> list[str]:
        return requirements(self.artifacts, self.toolkit_pin)

    def to_json(self) -> dict:
        return {"location": self.location, "artifacts": [a.to_json() for a in self.artifacts],
                "toolkit_requirement": self.toolkit_pin, "wired": self.wired,
                "build_seconds": round(self.build_seconds, 3), "uploaded_bytes": self.uploaded_bytes}


def _norm(name: str) -> str:
    return name.replace("_", "-").replace(".", "-").lower()


def project_folder(config) -> Path | None:
    """The folder of the project's package, or None when it ships none."""
    pkg = config.package
    if not pkg.enabled:
        return None
    folder = (config.root / pkg.path).resolve()
    if not (folder / "pyproject.toml").is_file():
        if pkg.path not in (".", "./", ""):
            raise ConfigError(f"package.path: no pyproject.toml in {folder}", path=config.path)
        return None
    return folder


def _artifact(kind: str, built, location: str) -> Artifact:
    return Artifact(kind, built.name, built.version, built.path.name, built.sha256, built.size, str(built.path),
                    remote_path(location, built.sha256, built.path.name))


def prepare(ctx, definitions: dict[str, Any]) -> ShipPlan | None:
    """Build and wire (see the module docstring); None when the target ships nothing."""
    target, config = ctx.target, ctx.config
    cfg = target.artifacts
    if target.backend != "databricks" or not cfg.enabled:
        return None
    folder = project_folder(config)
    if not cfg.path:
        if folder is not None:
            ctx.console.warn(f"target {target.name} has no artifacts.path: the jobs get no wheel of the package in "
                             f"{folder}, so its imports fail on Databricks (see docs/databricks.md)")
        return None
    plan = ShipPlan(cfg.path)
    cache = ctx.state_dir / "artifacts"
    if folder is not None:
        built = build_wheel(folder, cache)
        plan.build_seconds += built.seconds
        if config.package.name and _norm(config.package.name) != _norm(built.name):
            raise ConfigError(f"package.name: {config.package.name!r}, but {folder / 'pyproject.toml'} builds "
                              f"{built.name!r}", path=config.path)
        if _norm(built.name) != TOOLKIT:  # the toolkit's own checkout: shipped by artifacts.toolkit below
            plan.artifacts.append(_artifact("project", built, cfg.path))
    if cfg.toolkit == "pin":
        plan.toolkit_pin = f"{TOOLKIT}=={__version__}"
    elif cfg.toolkit == "wheel":
        source = toolkit_source()
        if source is None:
            raise ConfigError(f"targets.{target.name}.artifacts.toolkit: 'wheel' needs the toolkit's source "
                              "checkout, but it runs from an installed package", path=config.path,
                              hint="use toolkit: pin (the version is published) or run mlops from its checkout")
        built = build_wheel(source, cache)
        plan.build_seconds += built.seconds
        plan.artifacts.append(_artifact("toolkit", built, cfg.path))
    reqs = plan.requirements
    for key, definition in definitions.items():
        plan.wired[key] = wire(definition.settings, reqs)
    store = ctx.artifacts
    for artifact in plan.artifacts:
        artifact.op = "present" if store.size(artifact.remote) == artifact.size else "upload"
    return plan


def upload(ctx, plan: ShipPlan | None) -> None:
    """Store the artifacts that are not on the target yet (nothing in a dry run)."""
    if plan is None or ctx.dry_run:
        return
    store = ctx.artifacts
    for artifact in plan.artifacts:
        if artifact.op != "upload":
            continue
        store.put(artifact.remote, Path(artifact.local).read_bytes())
        plan.uploaded_bytes += artifact.size
        ctx.console.progress(f"uploaded {artifact.filename} ({artifact.size} bytes) to {artifact.remote}")


def upload_planned(ctx, planned: list[dict]) -> int:
    """A saved deploy plan's artifacts (``--plan FILE``): the wheels it names, with its hashes, are
    put on the target before its job settings are applied. The bytes come from the wheel bundled
    with the plan (``bundled_file``, checked by the caller), else the wheels built here
    (``.mlops/artifacts/``), else from a new build, which must give the planned hash (the
    build is reproducible): a package whose sources changed since the plan is exit 1, nothing
    written. Returns the bytes uploaded."""
    import hashlib

    from ..errors import CheckFailed

    if not planned or ctx.dry_run:
        return 0
    datas: dict[str, bytes] = {}
    for entry in planned:
        found = Path(entry["bundled_file"]).read_bytes() if entry.get("bundled_file") else None
        for path in [] if found else sorted((ctx.state_dir / "artifacts").glob(f"*/{entry['file']}")):
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() == entry["sha256"]:
                found = data
                break
        if found is None:
            folder = toolkit_source() if entry.get("kind") == "toolkit" else project_folder(ctx.config)
            built = build_wheel(folder, ctx.state_dir / "artifacts") if folder is not None else None
            if built is None or built.sha256 != entry["sha256"]:
                raise CheckFailed(f"the plan ships {entry['file']} sha256:{entry['sha256'][:16]}, but its sources "
                                  "build something else now", hint="write a new plan and review it")
            found = built.path.read_bytes()
        datas[entry["path"]] = found
    store = ctx.artifacts
    sent = 0
    for path, data in datas.items():
        if store.size(path) != len(data):
            store.put(path, data)
            sent += len(data)
            ctx.console.progress(f"uploaded {path.rsplit('/', 1)[-1]} ({len(data)} bytes) to {path}")
    return sent
