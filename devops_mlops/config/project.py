"""The whole of mlops.yaml as one typed object (:class:`Config`): its sections, the targets, and
the view of the project a target sees (its model over the project's, ``${var.*}`` resolved).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config_file import CONFIG_NAME
from ..errors import ConfigError, UsageError
from ..schema import field
from ..yamlload import dotted, line_of
from .sections import (
    AlertCfg,
    EntryPointsCfg,
    LintCfg,
    ModelCfg,
    MonitoringCfg,
    PackageCfg,
    PromotionCfg,
    ScmCfg,
    TestCfg,
)
from .targets import Target, is_uc_registry

_VAR_REF = re.compile(r"\$\{var\.([A-Za-z_][A-Za-z0-9_-]*)\}")


@dataclass
class Config:
    """mlops.yaml, typed; ``path`` and ``lines`` say where it was read from, ``unresolved`` which
    ``${ENV}`` references had no value."""

    project: str = field(required=True)
    notebooks: str = "notebooks"
    jobs: str = "resources"
    #: a Databricks Asset Bundle file (relative to mlops.yaml) whose name, variables and includes job files use
    bundle: str | None = None
    model: ModelCfg = field(required=True)
    lint: LintCfg = field(factory=LintCfg)
    test: TestCfg = field(factory=TestCfg)
    variables: dict[str, Any] = field(factory=dict)
    targets: dict[str, Target] = field(factory=lambda: {"local": Target()})
    promotion: PromotionCfg = field(factory=PromotionCfg)
    monitoring: MonitoringCfg = field(factory=MonitoringCfg)
    scm: ScmCfg = field(factory=ScmCfg)
    alerts: list[AlertCfg] = field(factory=list)
    #: the project's own settings, handed to its code as ``session.data`` (the toolkit reads none of them)
    data: dict[str, Any] = field(factory=dict)
    #: folders (relative to this file) put first on sys.path: local kernels and entry points import from them
    python_path: list[str] = field(factory=lambda: ["src"])
    entry_points: EntryPointsCfg = field(factory=EntryPointsCfg)
    package: PackageCfg = field(factory=PackageCfg)
    #: filled in by the loader
    path: Path = dataclasses.field(default=Path(CONFIG_NAME), init=False)
    unresolved: dict[tuple, tuple[str, int | None]] = dataclasses.field(default_factory=dict, init=False)
    #: key path -> line in mlops.yaml (for messages that name a key's line)
    lines: dict[tuple, int] = dataclasses.field(default_factory=dict, init=False, repr=False)

    def _validate(self):
        if not self.targets:
            return (("targets",), "define at least one target")
        defaults = [n for n, t in self.targets.items() if t.default]
        if len(defaults) > 1:
            return (("targets",), "more than one target has default: true: " + ", ".join(defaults))
        return None

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def notebooks_dir(self) -> Path:
        return self.root / self.notebooks

    @property
    def jobs_dir(self) -> Path:
        return self.root / self.jobs

    @property
    def state_dir(self) -> Path:
        return self.root / ".mlops"

    def line(self, *path: str) -> int | None:
        """The line of ``path`` in mlops.yaml, or of its nearest ancestor that is written there."""
        return line_of(self.lines, tuple(path))

    def for_target(self, target: Target) -> "Config":
        """This configuration as ``target`` sees it: ``model:`` with the target's ``model:`` over it and
        ``${var.*}`` resolved in the model's name. ConfigError (exit 2, naming the line) for an unknown
        variable, or for a name that is not ``catalog.schema.model`` where the registry is Unity Catalog."""
        overrides = {k: v for k, v in dataclasses.asdict(target.model).items() if v is not None}
        where = ("targets", target.name, "model", "name") if target.model.name else ("model", "name")
        model = dataclasses.replace(self.model, **overrides) if overrides else self.model
        if "${var." in model.name:
            variables = {**self.variables, **target.variables}

            def var(match: re.Match) -> str:
                if match.group(1) not in variables:
                    raise ConfigError(f"{dotted(where)}: no variable {match.group(1)!r} (variables: "
                                      f"{', '.join(sorted(variables)) or 'none'})", path=self.path, line=self.line(*where))
                return str(variables[match.group(1)])

            model = dataclasses.replace(model, name=_VAR_REF.sub(var, model.name))
        if is_uc_registry(target.registry_uri) and (model.name.count(".") != 2 or "" in model.name.split(".")):
            raise ConfigError(f"{dotted(where)}: {model.name!r} is not a Unity Catalog model name: target "
                              f"{target.name!r} registers in Unity Catalog ({target.registry_uri}), which names a "
                              "model <catalog>.<schema>.<model>", path=self.path, line=self.line(*where))
        if model is self.model:
            return self
        view = dataclasses.replace(self, model=model)
        view.path, view.unresolved, view.lines = self.path, self.unresolved, self.lines
        return view

    def target(self, name: str | None = None) -> Target:
        """The target named, else the one with default: true, else 'local'."""
        if name is None:
            name = next((n for n, t in self.targets.items() if t.default), None)
            if name is None:
                name = "local" if "local" in self.targets else next(iter(self.targets))
        if name not in self.targets:
            raise UsageError(
                f"no target {name!r} in {self.path.name} (targets: {', '.join(self.targets)})", path=self.path
            )
        for keypath, (var, line) in self.unresolved.items():
            if keypath[:2] == ("targets", name) or keypath[:1] != ("targets",):
                raise ConfigError(
                    f"{dotted(keypath)}: environment variable {var} is not set (and no ${{{var}:-default}})",
                    path=self.path,
                    line=line,
                )
        return self.targets[name]
