"""``${...}`` references in job files, resolved as a bundle would before deploy.

Known references:

- ``${var.NAME}``: the variables (see :mod:`devops_mlops.core.bundle` for the precedence);
  a value may itself hold references;
- ``${target}``, ``${bundle.target}``, ``${bundle.name}`` (the bundle's name, else the project),
  ``${project}``;
- ``${workspace.current_user.<field>}`` (``userName``, ``short_name``, ``displayName``, ``id``...):
  asked once per load, only when a file uses it (``whoami``);
- ``${workspace.root_path}``, ``${workspace.file_path}``: where sync puts the project for the target;
- ``${resources.<type>.<key>.<field>}``: a field written in the files for a resource they define
  (a schema's or volume's name, a registered model's name...). Ids are known only after the
  resource exists, and only the bundle CLI creates what is not a job: exit 2; except
  ``${resources.jobs.<key>.id}`` of a job in the files, which deploy fills in (core.job_refs).

A whole-string reference keeps the value's type (numbers, lists).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError
from ..yamlload import Lines, dotted, line_of
from .job_refs import ref as job_ref

REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")
#: fields of a resource the service assigns: unknown until it exists
_ASSIGNED = ("id", "url", "job_id", "pipeline_id", "full_name_id")


def short_name(user_name: str) -> str:
    """The bundle CLI's short form of a user name: the part before '@', other characters than
    letters and digits as '_', lower case."""
    local = user_name.split("@", 1)[0]
    return re.sub(r"[^a-z0-9]", "_", local.lower())


@dataclass
class Place:
    """Where a value was written: for messages."""

    source: Path
    lines: Lines
    path: tuple

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{dotted(self.path)}: {message}", path=self.source, line=line_of(self.lines, self.path))


@dataclass
class Resolver:
    target: str
    project: str
    bundle_name: str | None
    variables: dict[str, Any]
    lookups: set[str] = field(default_factory=set)
    #: where sync puts things (root_path, file_path)
    workspace: dict[str, str] = field(default_factory=dict)
    whoami: Callable[[], dict] | None = None
    #: type -> key -> (definition as written, where)
    resources: dict[str, dict[str, tuple[Any, Place]]] = field(default_factory=dict)
    #: what the variables came from, for the message of an undefined one
    var_sources: str = "mlops.yaml"
    #: the job keys named through ${resources.jobs.<key>.id} since the last reset
    job_refs: set[str] = field(default_factory=set, init=False)
    _user: dict | None = field(default=None, init=False)
    _active: set = field(default_factory=set, init=False)

    # ------------------------------------------------------------ entry point
    def substitute(self, value: Any, where: Place) -> Any:
        if isinstance(value, dict):
            return {k: self.substitute(v, Place(where.source, where.lines, where.path + (k,)))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute(v, Place(where.source, where.lines, where.path + (i,)))
                    for i, v in enumerate(value)]
        if not isinstance(value, str) or "${" not in value:
            return value
        whole = REF.fullmatch(value)
        if whole:
            return self.lookup(whole.group(1), where)
        return REF.sub(lambda m: str(self.lookup(m.group(1), where)), value)

    # ------------------------------------------------------------ lookups
    def lookup(self, name: str, where: Place) -> Any:
        if name in ("target", "bundle.target"):
            return self.target
        if name == "project":
            return self.project
        if name == "bundle.name":
            return self.bundle_name or self.project
        if name.startswith("var."):
            return self._var(name[4:], where)
        if name.startswith("workspace.current_user."):
            return self._user_field(name, where)
        if name.startswith("workspace."):
            key = name[len("workspace."):]
            if key in self.workspace:
                return self.workspace[key]
            raise where.error(f"unknown reference ${{{name}}} (known: "
                              + ", ".join(f"workspace.{k}" for k in sorted(self.workspace)) + ")")
        if name.startswith("resources."):
            return self._resource(name, where)
        raise where.error(f"unknown reference ${{{name}}} (known: var.*, bundle.name, bundle.target, target, "
                          "workspace.current_user.*, workspace.root_path, workspace.file_path, resources.*)")

    def _guard(self, token: str, where: Place) -> None:
        if token in self._active:
            raise where.error(f"${{{token}}} refers to itself (through other references)")

    def _var(self, var: str, where: Place) -> Any:
        if var in self.variables:
            token = "var." + var
            self._guard(token, where)
            self._active.add(token)
            try:
                return self.substitute(self.variables[var], where)
            finally:
                self._active.discard(token)
        if var in self.lookups:
            raise where.error(f"${{var.{var}}} is a bundle lookup variable (the bundle CLI resolves it from the "
                              f"workspace; mlops does not): give it a value under variables in mlops.yaml")
        known = ", ".join(sorted(self.variables)) or "none"
        raise where.error(f"undefined variable ${{var.{var}}} (variables in {self.var_sources}: {known})")

    def _user_field(self, name: str, where: Place) -> Any:
        if self.whoami is None:
            raise where.error(f"${{{name}}}: the current user is not known here")
        if self._user is None:
            me = dict(self.whoami())
            if me.get("userName") and "short_name" not in me:
                me["short_name"] = short_name(me["userName"])
            self._user = me
        fld = name[len("workspace.current_user."):]
        if fld in self._user and self._user[fld] is not None:
            return self._user[fld]
        raise where.error(f"unknown reference ${{{name}}} (the current user has: {', '.join(sorted(self._user))})")

    def _resource(self, name: str, where: Place) -> Any:
        parts = name.split(".")
        if len(parts) < 4:
            raise where.error(f"${{{name}}}: expected ${{resources.<type>.<key>.<field>}}")
        rtype, key, fld = parts[1], parts[2], parts[3:]
        defined = self.resources.get(rtype, {})
        if key not in defined:
            have = ", ".join(f"{t}.{k}" for t, ks in sorted(self.resources.items()) for k in ks) or "none"
            raise where.error(f"${{{name}}}: no resource {rtype}.{key} in the files (defined: {have})")
        if rtype == "jobs" and fld == ["id"]:
            self.job_refs.add(key)
            return job_ref(key)  # filled in by deploy, once the job exists (see core.job_refs)
        if fld[0] in _ASSIGNED and rtype == "jobs":
            raise where.error(f"${{{name}}}: a job's {fld[0]} is not known before deploy; "
                              f"${{resources.jobs.{key}.id}} is (mlops fills it in when it deploys the job)")
        if fld[0] in _ASSIGNED:
            raise where.error(f"${{{name}}}: the {fld[0]} of {rtype}.{key} is assigned when it is deployed, and "
                              f"mlops deploys only jobs (the bundle CLI deploys {rtype}): not known before deploy")
        token = name
        self._guard(token, where)
        value, place = defined[key]
        for i, part in enumerate(fld):
            if not isinstance(value, dict) or part not in value:
                raise where.error(f"${{{name}}}: {rtype}.{key} has no field {'.'.join(fld[: i + 1])} in "
                                  f"{place.source.name}")
            value = value[part]
            place = Place(place.source, place.lines, place.path + (part,))
        self._active.add(token)
        try:
            return self.substitute(value, place)
        finally:
            self._active.discard(token)
