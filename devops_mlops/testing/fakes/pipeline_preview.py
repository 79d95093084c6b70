"""An in-memory Azure Pipelines preview (:class:`devops_mlops.ports.pipeline_preview.PipelinePreview`)
for tests of `mlops pipelines validate --remote`.

``pipelines`` maps the YAML file of each pipeline to its id. The "service" compiles what parses as
YAML and whose top-level keys are pipeline keys; anything else is refused with the message the
service gives ("/<file> (Line: L, Col: C): Unexpected value 'key'"). ``previews`` records every
(pipeline id, YAML) asked for; ``token=None`` makes it report the token as missing, and
``token_rejected`` makes every call fail as a wrong token does.
"""

from __future__ import annotations

import yaml

from ...errors import ServiceError
from ...ports.pipeline_preview import Preview

#: the top-level keys of a pipeline the fake service accepts
PIPELINE_KEYS = {"name", "trigger", "pr", "schedules", "resources", "parameters", "variables", "pool", "stages", "jobs",
                 "steps", "extends", "lockBehavior", "appendCommitMessageToRunName", "container", "services",
                 "workspace", "strategy", "continueOnError", "timeoutInMinutes"}


class FakePipelinePreview:
    def __init__(self, pipelines: dict[str, int] | None = None, *, organization_url: str | None = "https://dev.azure.com/contoso",
                 project: str | None = "ml", token: str | None = "token") -> None:
        self.organization_url = organization_url
        self.project = project
        self.token = token
        self.pipelines_by_path = dict(pipelines or {})
        self.token_rejected = False
        self.previews: list[tuple[int, str]] = []

    def missing(self) -> list[str]:
        return [what for what, value in (("token (SYSTEM_ACCESSTOKEN or AZURE_DEVOPS_EXT_PAT)", self.token),
                                         ("organization (scm.azure_devops.organization_url or SYSTEM_COLLECTIONURI)",
                                          self.organization_url),
                                         ("project (scm.azure_devops.project or SYSTEM_TEAMPROJECT)", self.project))
                if not value]

    def _check_token(self) -> None:
        if self.token_rejected:
            raise ServiceError("Azure DevOps rejected the token",
                               hint="check SYSTEM_ACCESSTOKEN or AZURE_DEVOPS_EXT_PAT (scope Build: Read & execute)")

    def pipelines(self) -> dict[str, int]:
        self._check_token()
        return dict(self.pipelines_by_path)

    def preview(self, pipeline_id: int, yaml_text: str) -> Preview:
        self._check_token()
        path = next((p for p, i in self.pipelines_by_path.items() if i == pipeline_id), None)
        if path is None:
            return Preview(False, message=f"Pipeline with id {pipeline_id} not found.")
        self.previews.append((pipeline_id, yaml_text))
        return compile_pipeline(path, yaml_text)


def compile_pipeline(path: str, yaml_text: str) -> Preview:
    """What the fake service (and the Azure DevOps emulator's preview) makes of the YAML of ``path``."""
    where = "/" + path.lstrip("/")
    try:
        doc = yaml.compose(yaml_text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return Preview(False, message=f"{where} (Line: {line}, Col: {col}): {exc.problem}")
    if isinstance(doc, yaml.MappingNode):
        for key, _value in doc.value:
            if key.value not in PIPELINE_KEYS:
                mark = key.start_mark
                return Preview(False, message=f"{where} (Line: {mark.line + 1}, Col: {mark.column + 1}): "
                                              f"Unexpected value '{key.value}'")
    return Preview(True, final_yaml=yaml_text)
