"""The pipeline preview port (:mod:`devops_mlops.ports.pipeline_preview`) over the Azure DevOps
Pipelines REST API 7.1 (``_apis/pipelines``, ``_apis/pipelines/{id}/preview``), with the standard
library's HTTP client: `mlops pipelines validate` runs without mlops.yaml and without the SDK.

Organization, project and token: ``scm.azure_devops`` of the config when there is one, else the
pipeline's ``SYSTEM_COLLECTIONURI`` / ``SYSTEM_TEAMPROJECT``; the token from
``SYSTEM_ACCESSTOKEN`` else ``AZURE_DEVOPS_EXT_PAT``, sent as Basic with an empty user.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ...errors import ServiceError
from ...ports.pipeline_preview import Preview

API = "7.1"


class AzurePipelinePreview:
    def __init__(self, organization_url: str | None, project: str | None, token: str | None) -> None:
        self.organization_url = organization_url
        self.project = project
        self._token = token

    def missing(self) -> list[str]:
        return [what for what, value in (
            ("token (SYSTEM_ACCESSTOKEN or AZURE_DEVOPS_EXT_PAT)", self._token),
            ("organization (scm.azure_devops.organization_url or SYSTEM_COLLECTIONURI)", self.organization_url),
            ("project (scm.azure_devops.project or SYSTEM_TEAMPROJECT)", self.project)) if not value]

    @property
    def _base(self) -> str:
        return f"{(self.organization_url or '').rstrip('/')}/{quote(self.project or '')}/_apis/pipelines"

    def _request(self, method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        import urllib.error
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", "Basic " + base64.b64encode(f":{self._token}".encode()).decode())
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - the organization's https URL
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServiceError(f"cannot reach Azure DevOps at {url.split('/_apis')[0]}: {reason}") from None
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            payload = {"message": raw[:200].decode(errors="replace")}
        if status in (401, 203):
            raise ServiceError("Azure DevOps rejected the token",
                               hint="check SYSTEM_ACCESSTOKEN or AZURE_DEVOPS_EXT_PAT (scope Build: Read & execute)")
        return status, payload

    def pipelines(self) -> dict[str, int]:
        status, listing = self._request("GET", f"{self._base}?api-version={API}")
        if status != 200:
            raise ServiceError(f"listing pipelines failed: HTTP {status}: {listing.get('message', '')}")
        by_path: dict[str, int] = {}
        for item in listing.get("value", []):
            status, detail = self._request("GET", f"{self._base}/{item['id']}?api-version={API}")
            path = ((detail.get("configuration") or {}).get("path") or "") if status == 200 else ""
            if path:
                by_path[path.lstrip("/").replace("\\", "/")] = item["id"]
        return by_path

    def preview(self, pipeline_id: int, yaml_text: str) -> Preview:
        status, payload = self._request("POST", f"{self._base}/{pipeline_id}/preview?api-version={API}",
                                        {"previewRun": True, "yamlOverride": yaml_text})
        if status == 200:
            return Preview(True, final_yaml=str(payload.get("finalYaml", "")))
        return Preview(False, message=str(payload.get("message") or f"HTTP {status}"))


def from_config(config: Any, env: Mapping[str, str] | None = None) -> AzurePipelinePreview:
    """The preview API of ``scm.azure_devops`` of ``config`` (may be None), else of the pipeline's variables."""
    env = os.environ if env is None else env
    ado = config.scm.azure_devops if config is not None else None
    org = (ado.organization_url if ado else None) or env.get("SYSTEM_COLLECTIONURI")
    project = (ado.project if ado else None) or env.get("SYSTEM_TEAMPROJECT")
    token = env.get("SYSTEM_ACCESSTOKEN") or env.get("AZURE_DEVOPS_EXT_PAT")
    return AzurePipelinePreview(org, project, token)
