"""Reading mlops.yaml: found, read once, ``${ENV}`` references substituted (their values registered
as secrets to mask), then built and validated into a :class:`~devops_mlops.config.project.Config`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .. import console
from ..config_file import find_config
from ..errors import ConfigError, InputError
from ..schema import build
from ..yamlload import Lines, line_of, load_with_lines
from .project import Config

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _substitute(value: Any, path: tuple, lines: Lines, unresolved: dict) -> Any:
    """``value`` with its ``${VAR}`` and ``${VAR:-default}`` references replaced; a variable that is unset
    and has no default is recorded in ``unresolved`` (key path -> (variable, line)), to fail only when a
    command uses the target that needs it."""
    if isinstance(value, dict):
        return {k: _substitute(v, path + (k,), lines, unresolved) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, path + (i,), lines, unresolved) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def repl(match: re.Match) -> str:
        var, default = match.group(1), match.group(2)
        env = os.environ.get(var)
        if env is not None and env != "":
            console.register_secret(env)
            return env
        if default is not None:
            return default
        unresolved[path] = (var, line_of(lines, path))
        return ""

    return _ENV_REF.sub(repl, value)


def load_config(path: str | Path | None = None) -> Config:
    """The configuration at ``path``, or the mlops.yaml found from the working folder upwards."""
    cfg_path = Path(path) if path else find_config()
    data, lines = load_with_lines(cfg_path)
    source = str(cfg_path)
    if data is None:
        raise InputError("the file is empty", path=source, line=1)
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping", path=source, line=1)
    unresolved: dict = {}
    data = _substitute(data, (), lines, unresolved)
    cfg: Config = build(Config, data, (), lines, source)
    cfg.path = cfg_path.resolve()
    cfg.unresolved = unresolved
    cfg.lines = dict(lines)
    for name, target in cfg.targets.items():
        target.name = name
    return cfg
