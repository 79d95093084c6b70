"""Pipeline preview port: the Azure Pipelines service compiles a pipeline's YAML (templates
expanded, expressions evaluated) without running it, for `mlops pipelines validate --remote`.

An adapter is bound to one organization and project. :meth:`PipelinePreview.missing` says what it
lacks to ask the service (then nothing else is called); a refused token and an unreachable
service are ``ServiceError``; a YAML the service rejects is a :class:`Preview` with ``ok`` False.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Preview:
    ok: bool
    final_yaml: str = ""  # the compiled pipeline, when ok
    message: str = ""  # why the service refused it, when not ok ("... (Line: 3, Col: 1): ...")


class PipelinePreview(Protocol):
    organization_url: str | None
    project: str | None

    def missing(self) -> list[str]:
        """What is missing to reach the service (e.g. "token (SYSTEM_ACCESSTOKEN or
        AZURE_DEVOPS_EXT_PAT)"); empty when it can be asked."""
        ...

    def pipelines(self) -> dict[str, int]:
        """The project's YAML pipelines: repository path of the YAML file ("azure-pipelines/pr.yml") -> id."""
        ...

    def preview(self, pipeline_id: int, yaml_text: str) -> Preview:
        """Compile ``yaml_text`` as the YAML of pipeline ``pipeline_id``."""
        ...
