"""The MLflow REST APIs of a Databricks workspace, in the Databricks emulator (``emu.mlflow``).

The real ``mlflow`` client works against it end to end: tracking URI ``databricks``, registry URI
``databricks`` (workspace registry) or ``databricks-uc`` (Unity Catalog), with ``DATABRICKS_HOST`` =
``emu.url`` and ``DATABRICKS_TOKEN`` = the emulator's token. Shapes after mlflow's protos
(``service.proto``, ``model_registry.proto``, ``databricks_uc_registry_*.proto``,
``databricks_artifacts.proto``, ``databricks_filesystem_service.proto``).

One module per area: tracking (:mod:`.tracking`: experiments, runs, metrics; under
``/api/2.0/mlflow``), logged models (:mod:`.logged_models`), artifacts (:mod:`.artifacts`: signed
URLs the emulator serves, the Files API under ``/WorkspaceInternal/Mlflow/Artifacts`` and
``/Models``), the workspace and Unity Catalog registries (:mod:`.registry`, their handlers in
:mod:`.registry_handlers`); what they share is in :mod:`.common`.

Which artifact path mlflow takes (no environment variable is needed):

* Run and logged-model artifacts: mlflow tries the Files API first (``/api/2.0/fs/files/
  WorkspaceInternal/Mlflow/Artifacts/<exp>/Runs|LoggedModels/<id>/...``) and on any error falls back to
  ``credentials-for-write|read`` and signed URLs. ``emu.mlflow.tracking_files_api = False`` makes the
  former answer 403, forcing the fallback (or set ``MLFLOW_DISABLE_DATABRICKS_SDK_FOR_RUN_ARTIFACTS``
  for runs on the client side).
* Unity Catalog versions: mlflow asks ``registered-models:is-databricks-sdk-models-artifact-repository-
  enabled`` (unless ``MLFLOW_USE_DATABRICKS_SDK_MODEL_ARTIFACTS_REPO_FOR_UC`` is set, which then
  decides). The emulator answers ``emu.mlflow.uc_files_api`` (default True): the files go through the
  Files API at ``/api/2.0/fs/files/Models/<catalog>/<schema>/<model>/<version>/...``. With False,
  ``generate-temporary-credentials`` answers ``storage_mode: DEFAULT_STORAGE`` and mlflow uses
  ``/api/2.0/fs/create-upload-url|create-download-url`` (presigned URLs served by the emulator) and
  ``/api/2.0/fs/directories/Models/...`` to list. Both work on loopback with no cloud SDK.
* Workspace-registry versions are read through ``/model-versions/list-artifacts`` and
  ``get-signed-download-uri``.

Assertion helpers: ``models`` (name -> versions), ``experiments``, ``runs``, ``logged_models``,
``artifacts`` (key -> bytes), ``files_under(prefix)``, ``bytes_written()``, ``lineage``, ``deny()``,
and the emulator's ``requests_by_path``.
"""

from __future__ import annotations

from typing import Any

from .artifacts import ArtifactRoutes
from .logged_models import LoggedModelRoutes
from .registry import RegistryRoutes
from .tracking import TrackingRoutes

__all__ = ["MlflowStore"]


class MlflowStore(TrackingRoutes, LoggedModelRoutes, ArtifactRoutes, RegistryRoutes):
    """The MLflow state of one emulated workspace (``emu.mlflow``), its areas mounted on ``emu``."""

    workspace_id = "1234567890123456"

    def __init__(self, emu: Any):
        self.emu = emu
        self.experiments: dict[str, dict] = {}
        self.runs: dict[str, dict] = {}
        self.logged_models: dict[str, dict] = {}
        #: every artifact: key (see :mod:`.artifacts`) -> bytes
        self.artifacts: dict[str, bytes] = {}
        self._next_experiment = 1
        self._tracking_routes()
        self._logged_model_routes()
        self._artifact_routes()
        self._registry_routes()

    def _now(self) -> int:
        return self.emu._now()
