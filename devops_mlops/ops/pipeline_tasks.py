"""Task steps (``- task: Name@N``) and path filters, read the way Azure DevOps reads them.

The vendored schema describes each built-in task as one branch of a 259-way ``anyOf``
whose inputs are closed (``additionalProperties: false``) and spelled one way. The
service is more forgiving, so validated as-is the schema fails pipelines that run:

* a task from an extension (``BuildADFTask@1``, or named by its full contribution id
  ``publisher.extension.contribution.Task@0``) is not in the schema at all;
* input names compare without case and through their documented aliases
  (``pathtoPublish`` for ``PathtoPublish``, ``kubernetesServiceEndpoint`` for
  ``kubernetesServiceConnection``); an input the task does not have is ignored;
* an input the schema marks required is often required only under another input's value
  (HelmDeploy@0's ACR inputs only with an Azure Resource Manager connection), a condition
  the schema does not carry;
* path filters may end with a slash (``paths: include: [src/]``).

:func:`split_tasks` takes the task branches out of the schema (a step then only has to
be a task step: its own keys are still checked) and :func:`task_findings` checks each
task step against its branch: unknown inputs and values outside a picklist are warnings,
a missing required input (only for tasks without a picklist or boolean input, whose
requirements cannot depend on one) an error; a task the schema does not know is a warning only
when its name is close to a built-in one (a typo), silent otherwise (an extension).
Codes: PL111 (warning) a task that looks like a misspelled or newer built-in one; PL112
(warning) an input the task does not have, or a value outside its listed choices; PL113
(error) a required input missing, for tasks whose requirements cannot be conditional.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from ..core import pipeline_rules as rules
from ..core.pipeline_rules import Expr, Finding

_PATTERN = re.compile(r"^\^(.+)\$$")


@dataclass
class TaskSpec:
    name: str  # as the schema spells it, e.g. PublishBuildArtifacts@1
    inputs: dict[str, dict] = field(default_factory=dict)  # input name -> its schema
    names: dict[str, str] = field(default_factory=dict)  # lower-cased name or alias -> input name
    required: tuple[str, ...] = ()


def split_tasks(schema: dict) -> dict[str, TaskSpec]:
    """Replace the per-task branches of ``definitions.task`` by one open task step; return
    the branches as {lower-cased task name: TaskSpec} (deprecated copies merged in)."""
    definitions = schema["definitions"]
    task = definitions["task"]
    table: dict[str, TaskSpec] = {}
    for branch in task.get("anyOf", []):
        props = branch.get("properties", {})
        m = _PATTERN.match(props.get("task", {}).get("pattern", ""))
        if not m:
            continue
        name = re.sub(r"\\(.)", r"\1", m.group(1))
        spec = table.setdefault(name.lower(), TaskSpec(name))
        block = props.get("inputs", {})
        inputs = block.get("properties", {})
        for input_name, input_schema in inputs.items():
            spec.inputs.setdefault(input_name, input_schema)
            spec.names.setdefault(input_name.lower(), input_name)
            for alias in input_schema.get("aliases", []):
                spec.names.setdefault(alias.lower(), input_name)
        required = tuple(block.get("required", []))
        spec.required = required if not spec.required else tuple(r for r in spec.required if r in required)
    for spec in table.values():
        if any("enum" in s or s.get("type") == "boolean" for s in spec.inputs.values()):
            spec.required = ()  # may depend on a picklist or a switch: the schema does not say
    step = {key: value for key, value in task.items() if key != "anyOf"}
    step["properties"] = dict(task["properties"], task={"type": "string", "description": "Name@version of the task"})
    step["required"] = ["task"]
    definitions["task"] = step
    return table


def relax_path_filters(schema: dict) -> None:
    """``trigger.paths`` and ``pr.paths`` take file paths (a trailing or leading slash, spaces),
    not branch names: give them a filter of non-empty strings."""
    definitions = schema["definitions"]
    definitions["pathFilters"] = {
        "type": "object",
        "properties": {key: {"type": "array", "items": {"type": "string", "minLength": 1}}
                       for key in ("include", "exclude")},
        "additionalProperties": False,
    }
    for name in ("trigger", "pr"):
        for branch in definitions.get(name, {}).get("anyOf", []):
            paths = branch.get("properties", {}).get("paths")
            if isinstance(paths, dict) and paths.get("$ref") == "#/definitions/includeExcludeFilters":
                paths["$ref"] = "#/definitions/pathFilters"


# ----------------------------------------------------------------------------- task steps


def _task_steps(value: Any, path: tuple):
    """(key path, step) for every task step under a ``steps:`` list, at any depth."""
    if isinstance(value, dict):
        for key, sub in value.items():
            if key == "steps" and isinstance(sub, list):
                for i, step in enumerate(sub):
                    if isinstance(step, dict) and isinstance(step.get("task"), str):
                        yield path + (key, i), step
            yield from _task_steps(sub, path + (key,))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _task_steps(sub, path + (i,))


def _close(word: str, choices, cutoff: float = 0.8) -> str:
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return f" (did you mean {found[0]!r}?)" if found else ""


def task_findings(instance: Any, origins: dict, path: str, table: dict[str, TaskSpec], validator) -> list[Finding]:
    out: list[Finding] = []

    def warn(keys: tuple, message: str, code: str = "PL112", severity: str = "warning") -> None:
        out.append(Finding(path, rules.origin(origins, keys).line, code, message, severity=severity))

    seen: set[tuple] = set()
    for keys, step in _task_steps(instance, ()):
        if keys in seen:
            continue
        seen.add(keys)
        name = step["task"]
        if isinstance(name, Expr) or "$(" in name or "${{" in name:
            continue
        spec = table.get(name.lower())
        if spec is None:
            message = _unknown_task(name, table)
            if message:
                warn(keys + ("task",), message, "PL111")
            continue
        inputs = step.get("inputs", {})
        if not isinstance(inputs, dict):
            continue
        given: set[str] = set()
        for key, value in inputs.items():
            if not isinstance(key, str) or key.startswith("${{"):
                continue
            canonical = spec.names.get(key.lower())
            if canonical is None:
                warn(keys + ("inputs", key), f"{spec.name} has no input {key!r}{_close(key, spec.inputs, 0.6)}; "
                                            "the task ignores it")
                continue
            given.add(canonical)
            if isinstance(value, Expr) or (isinstance(value, str) and ("$(" in value or "${{" in value)):
                continue
            for err in validator.evolve(schema=spec.inputs[canonical]).iter_errors(value):
                warn(keys + ("inputs", key), f"{spec.name} input {key!r}: {err.message}")
                break
        for needed in spec.required:
            if needed not in given:
                warn(keys + ("inputs",) if isinstance(inputs, dict) else keys, f"{spec.name}: input {needed!r} is missing",
                     "PL113", "error")
    return out


def _unknown_task(name: str, table: dict[str, TaskSpec]) -> str | None:
    """A warning for a task the schema does not know, when it looks like a built-in one."""
    base, _, version = name.partition("@")
    if "." in base or re.fullmatch(r"[0-9a-fA-F-]{36}", base):
        return None  # an extension's full contribution id, or a task id
    versions = sorted(spec.name for key, spec in table.items() if key.partition("@")[0] == base.lower())
    if versions:
        return f"{name}: the schema knows {', '.join(versions)} (a newer version, or a typo?)"
    close = difflib.get_close_matches(base.lower(), {k.partition("@")[0] for k in table}, n=1, cutoff=0.85)
    if close:
        spelled = next(spec.name for key, spec in table.items() if key.partition("@")[0] == close[0])
        return (f"{name} is not a built-in task (did you mean {spelled.partition('@')[0]!r}?); "
                "an extension's task would be fine")
    return None
