"""The Data Factory resources an export generates, as plain JSON documents.

The JSON is written by hand, in the shape the Data Factory Git integration stores
(``{"name", "type"?, "properties": {...}}``), because azure-mgmt-datafactory 10.0.0
serializes its models with base-class type names (``Execution``, ``Container``,
``MultiplePipelineTrigger``) and drops the linked service's ``type``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import InputError

TYPES = {"pipeline": "Microsoft.DataFactory/factories/pipelines",
         "linkedService": "Microsoft.DataFactory/factories/linkedservices",
         "trigger": "Microsoft.DataFactory/factories/triggers"}
_NAME_BAD = re.compile(r"[^A-Za-z0-9_\-]")


@dataclass
class Export:
    """What was generated: resources by kind and name (each the Git-integration JSON document)."""

    resources: dict[str, dict[str, dict]] = field(default_factory=lambda: {k: {} for k in TYPES})
    #: linked services referenced but not generated (the Key Vault one): must exist in the factory
    external_linked_services: set[str] = field(default_factory=set)
    #: (pipeline, parameter) -> the secret default, kept out of exported files (ARM: a securestring parameter)
    secret_parameters: dict[tuple[str, str], str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    workspace_url: str = ""
    workspace_resource_id: str | None = None
    linked_service: str = ""

    def add(self, kind: str, name: str, properties: dict) -> None:
        """Add a resource; two of one kind with the same name are an InputError."""
        if name in self.resources[kind]:
            raise InputError(f"two generated {kind} resources are named {name!r} (rename a job key, or set adf.prefix)")
        self.resources[kind][name] = {"name": name, "type": TYPES[kind], "properties": properties}

    def names(self) -> list[tuple[str, str]]:
        """(kind, name) of every resource, linked services, pipelines and triggers in the order of TYPES."""
        return [(k, n) for k in TYPES for n in self.resources[k]]


def resource_name(prefix: str, key: str) -> str:
    """A Data Factory resource name: the prefix and key, other characters as ``_``, at most 140 long."""
    return _NAME_BAD.sub("_", f"{prefix}{key}")[:140]
