"""Emulator area of the Pipelines API 7.1 that `mlops pipelines validate --remote` calls: list the
project's pipelines, get one (its ``configuration.path``, the YAML file), and preview a run
(``POST .../pipelines/{id}/preview`` with ``yamlOverride``) without running it.

Pipelines are the YAML build definitions of :class:`.pipelines.PipelinesArea` (what
`mlops azure-devops setup` creates, or :meth:`PipelinePreviewArea.add_yaml_pipeline`). The YAML
is compiled as :func:`devops_mlops.testing.fakes.pipeline_preview.compile_pipeline` does: a
rejection is a 400 whose message names the line, as the service's does.
"""

from __future__ import annotations

import copy
from typing import Any

from ..fakes.pipeline_preview import compile_pipeline
from ..http import Request
from .base import Location, now


class PipelinePreviewArea:
    def _install_preview(self) -> None:
        #: every preview asked for: {"pipeline": id, "yaml": text}
        self.previews: list[dict[str, Any]] = []
        self.add_location(Location("28e1305e-2afe-47bf-abaf-cbb0e6a91988", "pipelines", "pipelines",
                                   "{project}/_apis/pipelines/{pipelineId}"),
                          get=self._get_pipelines)
        self.add_location(Location("53df2d18-29ea-46a9-bee0-933540f80abf", "pipelines", "preview",
                                   "{project}/_apis/pipelines/{pipelineId}/preview"),
                          post=self._preview)

    def add_yaml_pipeline(self, project: str, name: str, yaml_path: str, folder: str = "\\") -> dict[str, Any]:
        """A YAML pipeline (build definition) running ``yaml_path``, as if someone had created it."""
        proj = self.project(project)
        did = max(self.definitions, default=0) + 1
        self.definitions[did] = {"id": did, "name": name, "path": folder, "revision": 1, "type": "build",
                                 "queueStatus": "enabled", "process": {"type": 2, "yamlFilename": yaml_path},
                                 "repository": {}, "project": self.project_ref(proj), "createdDate": now(),
                                 "url": f"{self.org_url}/{proj['id']}/_apis/build/Definitions/{did}"}
        return copy.deepcopy(self.definitions[did])

    def _yaml_pipelines(self, req: Request) -> dict[int, dict[str, Any]]:
        proj = self.project(req.params.get("project"))
        return {i: d for i, d in self.definitions.items()
                if d["project"]["id"] == proj["id"] and (d.get("process") or {}).get("type") == 2}

    def _pipeline_json(self, d: dict[str, Any]) -> dict[str, Any]:
        return {"id": d["id"], "name": d["name"], "folder": d["path"], "revision": d["revision"],
                "url": f"{self.org_url}/{d['project']['id']}/_apis/pipelines/{d['id']}?revision={d['revision']}",
                "configuration": {"type": "yaml", "path": d["process"]["yamlFilename"],
                                  "repository": {"id": (d.get("repository") or {}).get("id"), "type": "azureReposGit"}}}

    def _one(self, req: Request) -> dict[str, Any]:
        found = self._yaml_pipelines(req).get(int(req.params.get("pipelineId") or 0))
        if found is None:
            raise self.error(404, f"Pipeline with id {req.params.get('pipelineId')} not found.",
                             "PipelineNotFoundException")
        return found

    def _get_pipelines(self, req: Request) -> Any:
        if req.params.get("pipelineId"):
            return self._pipeline_json(self._one(req))
        return self.collection([{k: v for k, v in self._pipeline_json(d).items() if k != "configuration"}
                                for d in self._yaml_pipelines(req).values()])

    def _preview(self, req: Request) -> Any:
        d = self._one(req)
        body = req.json or {}
        text = body.get("yamlOverride")
        if body.get("previewRun") is not True or not isinstance(text, str):
            raise self.error(400, "A preview needs previewRun: true and yamlOverride.", "ArgumentException")
        self.previews.append({"pipeline": d["id"], "yaml": text})
        compiled = compile_pipeline(d["process"]["yamlFilename"], text)
        if not compiled.ok:
            raise self.error(400, compiled.message, "PipelineValidationException")
        return {"finalYaml": compiled.final_yaml, "id": -1, "name": d["name"], "state": "unknown"}
