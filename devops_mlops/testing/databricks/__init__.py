"""A stateful loopback emulator of the Databricks REST API subset mlops uses.

Point the real ``databricks-sdk`` at it (``host=emu.url``, PAT ``emu.token``)::

    from devops_mlops.testing.databricks import DatabricksEmulator

    with DatabricksEmulator(token="dapi-test") as emu:
        w = WorkspaceClient(host=emu.url, token="dapi-test")

One module per API area, each keeping its own state (request and response shapes after the
public REST reference):

* :mod:`.server`: the HTTP server (``GET /.well-known/databricks-config``, the token, faults from
  :class:`devops_mlops.testing.http.Faults` through ``emu.faults``, the request log);
* :mod:`.workspace`: workspace 2.0 (``emu.objects``, ``files``, ``folders``, ``imports()``, ``edit()``);
* :mod:`.repos`: Git folders (``repos``, ``git_heads``, ``link_git()``, ``add_repo()``);
* :mod:`.jobs`: jobs 2.1 / 2.2 (``jobs``, ``jobs_created``, ``jobs_by_tag()``);
* :mod:`.runs`: runs, repairs and scripted task outcomes (``runs``, ``set_outcome()``, ``run_steps``);
* :mod:`.compute`: clusters and libraries, when runs execute for real (:meth:`DatabricksEmulator.execute`);
* :mod:`.files`: Unity Catalog volumes through the Files API (``emu.volumes``);
* :mod:`.permissions`: SCIM ``Me`` and job permissions (``emu.permissions``);
* :mod:`.catalog`: Unity Catalog catalogs, schemas and grants (``emu.catalog``);
* :mod:`.mlflow`: MLflow tracking, artifacts, the workspace and Unity Catalog registries (``emu.mlflow``).

The order of task runs, ``run_if`` and repairs follow :mod:`devops_mlops.core.jobgraph`, as the
local jobs adapter does. Besides the areas' helpers, the base's ``requests``,
``requests_by_path()``, ``writes()`` and ``api_requests()`` are there for assertions.
"""

from __future__ import annotations

from .catalog import CatalogStore
from .compute import ClusterRuntime, Executor, make_venv
from .files import VolumeStore
from .jobs import JobsArea
from .mlflow import MlflowStore
from .permissions import PermissionStore
from .repos import ReposArea
from .runs import EmuRun, RunsArea, TaskOutcome
from .sample import sample_project
from .server import DatabricksServer
from .workspace import WorkspaceArea, WsObject

__all__ = ["ClusterRuntime", "DatabricksEmulator", "EmuRun", "TaskOutcome", "WsObject", "make_venv",
           "sample_project"]


class DatabricksEmulator(RunsArea, JobsArea, ReposArea, WorkspaceArea, DatabricksServer):
    """The whole emulator: the server with every area mounted on it."""

    def __init__(self, *, token: str | None = "dapi-emulator", latency: float = 0.0, faults=None,
                 run_steps: int = 0, user: str = "ci@example.com"):
        super().__init__(token=token, latency=latency, faults=faults, user=user)
        self._install_workspace()
        self._install_repos()
        self._install_jobs()
        self._install_runs(run_steps)
        #: Unity Catalog catalogs, schemas and effective privileges
        self.catalog = CatalogStore(self)
        #: Unity Catalog volumes through the Files API
        self.volumes = VolumeStore(self)
        #: SCIM Me and the job permissions API
        self.permissions = PermissionStore(self)
        #: the MLflow tracking, artifact and model registry APIs
        self.mlflow = MlflowStore(self)

    def execute(self, runtime: ClusterRuntime | None = None) -> None:
        """From now on, ``run-now`` and ``runs/submit`` execute notebook tasks for real, from the
        emulated workspace, in a fresh environment holding only the tasks' libraries (:mod:`.compute`)."""
        self.runtime = runtime or ClusterRuntime()
        self.executor = Executor(self, self.runtime)

    def start(self) -> DatabricksEmulator:
        super().start()
        return self

    def __enter__(self) -> DatabricksEmulator:
        return self.start()
