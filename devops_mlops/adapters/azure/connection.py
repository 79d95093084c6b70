"""One way to reach Azure DevOps: resolve the organization, project, repository
and token from mlops.yaml and the pipeline's predefined variables, and build an
``azure.devops.connection.Connection`` (the official SDK) from them.

API (what other adapters call)::

    from devops_mlops.adapters.azure.connection import resolve, connect, from_context
    from devops_mlops.adapters.azure.errors import translated

    ado = from_context(ctx)              # AzureDevOps: .target, .connection, .git(), .wit(), ...
    ado = from_context(ctx, need_repository=True)
    with translated("open a pull request", ado.target):
        ado.git().create_pull_request(...)   # TF codes -> ServiceError/ConflictError with .code

    target = resolve(cfg.scm.azure_devops)           # AzureDevOpsTarget (token never in repr)
    conn = connect(target)                           # azure.devops Connection

Resolution, first found wins:

* organization URL: ``scm.azure_devops.organization_url`` else ``SYSTEM_COLLECTIONURI``
  (``https://dev.azure.com/<org>/``, ``https://<org>.visualstudio.com/`` or an
  emulator ``http://127.0.0.1:PORT/<org>``);
* project: ``scm.azure_devops.project`` else ``SYSTEM_TEAMPROJECT``;
* repository: ``scm.azure_devops.repository`` else ``BUILD_REPOSITORY_NAME``;
* token: ``SYSTEM_ACCESSTOKEN`` (sent as ``Bearer``) else ``AZURE_DEVOPS_EXT_PAT``
  (sent as Basic with an empty user, as a PAT is). The token is registered with
  :func:`devops_mlops.console.register_secret` and never logged or printed.

Missing organization or token: :class:`devops_mlops.errors.UsageError` (exit 2)
saying what to set. Retries: GET/PUT/DELETE/OPTIONS on 429/500/502/503/504
and dropped connections, honouring ``Retry-After``, within the retry budget
(``--timeout`` / the target's ``retry_timeout``); POST/PATCH are not retried on
an answer (a lost create must not be created twice). A refused connection, an
unknown host name or a failed TLS handshake is not retried.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ... import console
from ...errors import UsageError
from ...ports.devops_admin import build_service_name, organization_name

if TYPE_CHECKING:  # pragma: no cover
    from ...config import AzureDevOpsCfg


@dataclass
class AzureDevOpsTarget:
    organization_url: str
    organization: str
    project: str | None
    repository: str | None
    token: str = field(repr=False)
    #: "bearer" (SYSTEM_ACCESSTOKEN, OAuth) or "basic" (personal access token)
    scheme: str = "basic"
    token_source: str = ""

    @property
    def build_service_identity(self) -> str:
        """'<project> Build Service (<org>)': the identity pipelines run as (project-scoped)."""
        return build_service_name(self.project, self.organization)

    def require(self, *, project: bool = True, repository: bool = False) -> AzureDevOpsTarget:
        if project and not self.project:
            raise UsageError("no Azure DevOps project (set scm.azure_devops.project in mlops.yaml, or SYSTEM_TEAMPROJECT)")
        if repository and not self.repository:
            raise UsageError("no Azure Repos repository (set scm.azure_devops.repository in mlops.yaml, or BUILD_REPOSITORY_NAME)")
        return self


def resolve(
    cfg: AzureDevOpsCfg | None = None,
    *,
    organization_url: str | None = None,
    project: str | None = None,
    repository: str | None = None,
    env: Mapping[str, str] | None = None,
) -> AzureDevOpsTarget:
    """The organization, project, repository and token to use (arguments > config > environment)."""
    env = os.environ if env is None else env
    url = organization_url or (cfg.organization_url if cfg else None) or env.get("SYSTEM_COLLECTIONURI") or ""
    if not url:
        raise UsageError(
            "no Azure DevOps organization (set scm.azure_devops.organization_url in mlops.yaml, "
            "or run inside an Azure Pipelines job where SYSTEM_COLLECTIONURI is set)"
        )
    if not url.startswith(("https://", "http://")):
        raise UsageError(f"scm.azure_devops.organization_url must be an http(s) URL, got {url!r}")
    if env.get("SYSTEM_ACCESSTOKEN"):
        token, scheme, source = env["SYSTEM_ACCESSTOKEN"], "bearer", "SYSTEM_ACCESSTOKEN"
    elif env.get("AZURE_DEVOPS_EXT_PAT"):
        token, scheme, source = env["AZURE_DEVOPS_EXT_PAT"], "basic", "AZURE_DEVOPS_EXT_PAT"
    else:
        raise UsageError(
            "no Azure DevOps token (set AZURE_DEVOPS_EXT_PAT to a personal access token, or map "
            "SYSTEM_ACCESSTOKEN: $(System.AccessToken) in the pipeline step's env)"
        )
    console.register_secret(token)
    url = url.rstrip("/")
    return AzureDevOpsTarget(
        organization_url=url,
        organization=organization_name(url),
        project=project or (cfg.project if cfg else None) or env.get("SYSTEM_TEAMPROJECT") or None,
        repository=repository or (cfg.repository if cfg else None) or env.get("BUILD_REPOSITORY_NAME") or None,
        token=token,
        scheme=scheme,
        token_source=source,
    )


@functools.cache
def _retry_class() -> type:
    """urllib3's Retry that gives up at once on an unreachable host and after ``budget`` seconds otherwise.

    Only urllib3's documented extension points are overridden (``new``, ``increment``,
    ``get_backoff_time``, ``get_retry_after``); the start of the budget travels with the copies
    ``increment`` returns, so the object held by the client's configuration never changes."""
    import time

    from urllib3.exceptions import MaxRetryError, ResponseError
    from urllib3.util.retry import Retry

    from ..net import unreachable

    class BudgetRetry(Retry):
        budget: float | None = None
        started: float | None = None

        def new(self, **kw: Any) -> Retry:
            out = super().new(**kw)
            out.budget, out.started = self.budget, self.started
            return out

        def left(self) -> float:
            if self.budget is None or self.started is None:
                return float("inf")
            return max(0.0, self.budget - (time.monotonic() - self.started))

        def get_backoff_time(self) -> float:  # no sleep past the budget
            return min(super().get_backoff_time(), self.left())

        def get_retry_after(self, response: Any) -> float | None:
            wait = super().get_retry_after(response)
            return None if wait is None else min(wait, self.left())

        def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
            if error is not None and unreachable(error):
                raise MaxRetryError(_pool, url, error) from error  # another try cannot succeed
            now = time.monotonic()
            started = now if self.started is None else self.started
            if self.budget is not None and now - started >= self.budget:
                spent = ResponseError(f"still failing after retrying for {self.budget:g} s")
                raise MaxRetryError(_pool, url, error or spent) from error
            out = super().increment(method, url, response, error, _pool, _stacktrace)
            out.started = started
            return out

    return BudgetRetry


def _configure(client: Any, retries: int, backoff: float, timeout: float, budget: float | None) -> None:
    """Our retry policy and timeouts on an SDK client, through msrest's public configuration:
    ``config.retry_policy.policy`` is the urllib3 ``Retry`` msrest hands to each session it opens,
    ``config.connection.timeout`` the (connect, read) timeout of every request."""
    from ..net import CONNECT_TIMEOUT, DEFAULT_RETRY_BUDGET

    policy = _retry_class()(
        total=retries, connect=retries, read=retries, status=retries, other=retries,
        backoff_factor=backoff, backoff_max=10, status_forcelist={429, 500, 502, 503, 504},
        allowed_methods=frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"}),
        respect_retry_after_header=True, raise_on_status=False)
    policy.budget = budget or DEFAULT_RETRY_BUDGET
    client.config.retry_policy.policy = policy
    client.config.connection.timeout = (CONNECT_TIMEOUT, timeout)


def _transient(exc: BaseException) -> bool:
    """Worth asking again: throttling, a 5xx, a dropped connection (not an unreachable host)."""
    import re

    from msrest.exceptions import ClientRequestError

    from ..net import unreachable

    if unreachable(exc):
        return False
    status = re.search(r"returned a (\d{3}) status code|too many (\d{3}) error responses", str(exc))
    if status:
        code = status.group(1) or status.group(2)
        return code == "429" or code.startswith("5")
    return isinstance(exc, ClientRequestError)


def connect(target: AzureDevOpsTarget, *, retries: int = 50, backoff: float = 0.5, timeout: float = 60.0,
            budget: float | None = None):
    """An ``azure.devops.connection.Connection`` for ``target`` (clients: ``conn.clients_v7_1.get_*_client()``).

    The organization URL is asked once first: a host nothing can reach is reported at once. A
    request is retried (back-off up to 10 s, ``Retry-After`` honoured) at most ``retries`` times
    and for at most ``budget`` seconds (default 120); the SDK's location discovery, which runs when
    a client is first asked for, is retried within the same budget."""
    import time

    from azure.devops.connection import Connection
    from msrest.authentication import BasicAuthentication, BasicTokenAuthentication

    from ..net import DEFAULT_RETRY_BUDGET, probe, unreachable_error

    reason = probe(target.organization_url)
    if reason:
        err = unreachable_error("connect to Azure DevOps", f"Azure DevOps at {target.organization_url}", reason,
                                hint="check scm.azure_devops.organization_url / SYSTEM_COLLECTIONURI and the network")
        err.code = "unreachable"  # type: ignore[attr-defined]
        raise err
    if target.scheme == "bearer":
        creds = BasicTokenAuthentication({"access_token": target.token})
    else:
        creds = BasicAuthentication("", target.token)
    limit = budget or DEFAULT_RETRY_BUDGET

    class _Connection(Connection):
        def get_client(self, client_type, *args, **kwargs):  # the SDK's public entry for every client
            deadline = time.monotonic() + limit
            delay = backoff
            while True:
                try:
                    client = super().get_client(client_type, *args, **kwargs)
                    break
                except Exception as exc:  # noqa: BLE001 - location discovery: transient ones are asked again
                    if not _transient(exc) or time.monotonic() + delay > deadline:
                        raise
                    time.sleep(delay)
                    delay = min(delay * 2, 10)
            _configure(client, retries, backoff, timeout, budget)
            return client

    return _Connection(base_url=target.organization_url, creds=creds, user_agent="devops-mlops")


class AzureDevOps:
    """A resolved target and its (lazy) connection, with the clients adapters use."""

    def __init__(self, target: AzureDevOpsTarget, **connect_kwargs: Any) -> None:
        self.target = target
        self._connect_kwargs = connect_kwargs
        self._connection = None

    @property
    def connection(self):
        if self._connection is None:
            self._connection = connect(self.target, **self._connect_kwargs)
        return self._connection

    def client(self, name: str):
        """``name``: core, git, work_item_tracking, build, task_agent, pipelines_checks, policy, security, identity."""
        from .errors import translated

        with translated(f"connect to Azure DevOps ({name})", self.target):  # discovery happens here
            return getattr(self.connection.clients_v7_1, f"get_{name}_client")()

    def core(self):
        return self.client("core")

    def git(self):
        return self.client("git")

    def wit(self):
        return self.client("work_item_tracking")

    def project(self) -> Any:
        """The project (TeamProject); a missing one raises ServiceError TF200016."""
        from .errors import translated

        self.target.require(project=True)
        with translated(f"read project {self.target.project!r}", self.target):
            return self.core().get_project(self.target.project)

    def repository(self) -> Any:
        """The Azure Repos repository (GitRepository); missing: ServiceError TF401019."""
        from .errors import translated

        self.target.require(project=True, repository=True)
        with translated(f"read repository {self.target.repository!r}", self.target):
            return self.git().get_repository(self.target.repository, project=self.target.project)


def from_context(ctx: Any, *, need_repository: bool = False, **overrides: Any) -> AzureDevOps:
    """The Azure DevOps of the project's mlops.yaml (``scm.azure_devops``) and the environment.

    ``ctx``: the run context (``devops_mlops.context.Context``; its ``config``, ``console``,
    ``timeout`` and ``target`` are read)."""
    cfg = ctx.config.scm.azure_devops
    target = resolve(cfg, **{k: v for k, v in overrides.items() if k in ("organization_url", "project", "repository")})
    if need_repository:
        target.require(project=True, repository=True)
    from ..net import retry_budget

    from ...deps import warn_untested

    warn_untested(getattr(ctx, "console", None), "azure-devops", "msrest")
    kwargs = {k: v for k, v in overrides.items() if k in ("retries", "backoff", "timeout", "budget")}
    kwargs.setdefault("budget", retry_budget(ctx))
    return AzureDevOps(target, **kwargs)


def send(client: Any, **request: Any) -> Any:
    """A request to an Azure DevOps REST resource by its location id, through the SDK client's own
    request machinery (auth, location discovery, our retry policy): ``Client._send``, the one
    private name of azure-devops we call (docs/DEVELOPING.md says why). Typed SDK methods drop
    fields their models lack (check settings, change entries' paths), so these few calls read
    the documented JSON themselves. Arguments: http_method, location_id, version, route_values,
    query_parameters, content. A release without it is an error naming the tested version."""
    from ...errors import ServiceError

    method = getattr(client, "_send", None)
    if not callable(method):
        raise ServiceError("this azure-devops release has no Client._send, which devops-mlops needs for "
                           f"{request.get('http_method', 'a')} requests by location id",
                           hint="install the tested release: pip install 'azure-devops==7.1.0b4'")
    return method(**request)
