"""Rules PL101 and PL102: secrets expanded into script text, and secret values written in the YAML."""

from __future__ import annotations

import re
from typing import Any

from .expansion import Step
from .expressions import is_expression
from .findings import Finding, Loc
from .resolve import origin
from .scripts import MACRO, body_line, script_bodies

SECRET_NAME = re.compile(
    r"(?i)(token|secret|password|passwd|pwd|credential|api[_-]?key|access[_-]?key|account[_-]?key|"
    r"private[_-]?key|connection[_-]?string|sas|(^|[._-])pat$|(^|[._-])key$)"
)
#: always secret, whatever the pattern says
KNOWN_SECRETS = {
    "system.accesstoken", "system_accesstoken", "databricks_token", "databricks_client_secret",
    "arm_client_secret", "azure_client_secret", "azure_devops_ext_pat",
}
NOT_SECRET = {"databricks_client_id", "arm_client_id", "arm_tenant_id", "azure_client_id", "azure_tenant_id"}


def is_secret_name(name: str) -> bool:
    """Whether a variable or environment name looks like it holds a secret."""
    low = name.lower()
    if low in KNOWN_SECRETS:
        return True
    if low in NOT_SECRET or low.endswith(("_id", ".id", "_url", "uri", "_host", "_type", "_name")):
        return False
    if re.search(r"[a-z0-9]Key$", name) and not low.startswith("cache"):
        return True  # storageKey, accountKey
    return bool(SECRET_NAME.search(name))


def _literal(value: Any) -> bool:
    """A value written out in the YAML, not a macro or an expression."""
    return isinstance(value, str) and value.strip() != "" and not MACRO.search(value) and not is_expression(value) \
        and not value.strip().startswith("$[")


def check_secrets(step: Step) -> list[Finding]:
    """PL101 for each secret macro in the step's script text, PL102 for each literal secret in its env."""
    out = []
    for text, loc in script_bodies(step):
        for index, raw in enumerate(text.split("\n")):
            for m in MACRO.finditer(raw):
                if is_secret_name(m.group(1)):
                    env = re.sub(r"\W", "_", m.group(1)).upper()
                    f = loc.finding(
                        "PL101",
                        f"$({m.group(1)}) is expanded into the script text (it can leak into logs and process "
                        f"listings): map it through env: ({env}: $({m.group(1)})) and use ${env}",
                    )
                    out.append(Finding(f.path, body_line(text, loc, index), f.code, f.message, m.start() + 1))
    env = step.data.get("env")
    if isinstance(env, dict):
        for name, value in env.items():
            if isinstance(name, str) and is_secret_name(name) and _literal(value):
                out.append(step.loc("env", name).finding(
                    "PL102", f"env {name} has a literal value: take it from a variable group or Key Vault as $(...)"))
    return out


def check_variables(data: Any, origins: dict, at: tuple = ()) -> list[Finding]:
    """Secret-looking variables with literal values, anywhere in the pipeline."""
    out: list[Finding] = []
    if isinstance(data, dict):
        for key, val in data.items():
            if key == "variables":
                items = val.items() if isinstance(val, dict) else []
                for name, value in items:
                    if isinstance(name, str) and is_secret_name(name) and _literal(value):
                        out.append(_secret_literal(origin(origins, at + (key, name)), name))
                for i, item in enumerate(val if isinstance(val, list) else []):
                    if isinstance(item, dict) and isinstance(item.get("name"), str) and is_secret_name(item["name"]) \
                            and _literal(item.get("value")):
                        out.append(_secret_literal(origin(origins, at + (key, i, "value")), item["name"]))
            else:
                out.extend(check_variables(val, origins, at + (key,)))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            out.extend(check_variables(item, origins, at + (i,)))
    return out


def _secret_literal(loc: Loc, name: str) -> Finding:
    """The PL102 finding of a secret-looking variable with a literal value."""
    return loc.finding("PL102", f"variable {name} holds a secret in the YAML: move it to a variable group or "
                                f"Key Vault (a secret variable) and map it through env:")
