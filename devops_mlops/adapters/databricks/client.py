"""The one way mlops builds a ``WorkspaceClient`` and turns SDK exceptions into our errors.

Auth is the SDK's unified auth: ``host`` from the target (else ``DATABRICKS_HOST`` / the
profile), then a PAT from ``DATABRICKS_TOKEN``, a ``profile`` from ~/.databrickscfg, an Azure
service principal (``ARM_CLIENT_ID`` / ``ARM_CLIENT_SECRET`` / ``ARM_TENANT_ID``) or Azure DevOps
OIDC. Two methods at once (e.g. ``ARM_CLIENT_SECRET`` next to ``DATABRICKS_TOKEN``) is
reported with the fix instead of the SDK's bare ``validate:`` error.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ...errors import ConflictError, MlopsError, ServiceError

T = TypeVar("T")

#: env var -> the SDK auth method it selects
_AUTH_ENV = {
    "DATABRICKS_TOKEN": "pat",
    "DATABRICKS_CLIENT_SECRET": "oauth-m2m",
    "ARM_CLIENT_SECRET": "azure-client-secret",
    "DATABRICKS_USERNAME": "basic",
}


def _auth_conflict_hint(message: str) -> str:
    present = [v for v in _AUTH_ENV if os.environ.get(v)]
    if len(present) >= 2:
        keep = present[0]
        return (f"{' and '.join(present)} are all set: unset the one you do not mean to use "
                f"(e.g. `unset {present[1]}`), or choose one with DATABRICKS_AUTH_TYPE={_AUTH_ENV[keep]}")
    return ("more than one way to log in is configured (environment variables, the target's profile in "
            "~/.databrickscfg): remove one, or choose with DATABRICKS_AUTH_TYPE (pat, azure-client-secret, "
            "oauth-m2m, azure-devops-oidc)")


def build_client(target: Any, *, budget: int | None = None) -> Any:
    """A ``WorkspaceClient`` for ``target`` (host, profile); our errors on bad auth settings.

    ``budget``: seconds the SDK may spend retrying one request (429, 503, resets); a refused
    connection, an unknown host name or a failed TLS handshake is not retried at all.
    """
    from databricks.sdk import WorkspaceClient

    from ..net import DEFAULT_RETRY_BUDGET

    kwargs: dict[str, Any] = {"product": "devops-mlops", "product_version": "0.1.0"}
    if target.host:
        kwargs["host"] = target.host
    if target.profile:
        kwargs["profile"] = target.profile
    kwargs["retry_timeout_seconds"] = budget or DEFAULT_RETRY_BUDGET
    try:
        client = WorkspaceClient(config=_config_class()(**kwargs))
    except ValueError as exc:
        text = str(exc)
        reason = _unreachable(target.host) if target.host and "more than one" not in text else None
        if reason:  # OAuth and Entra ID logins ask the host first; a dead host is the real story
            from ..net import unreachable_error

            raise unreachable_error(f"Databricks login for target {target.name!r}", urlsplit(target.host).netloc,
                                    reason, hint=_HOST_HINT) from None
        if "more than one authorization method" in text:
            raise ServiceError(f"Databricks auth for target {target.name!r}: {text.split(': ', 1)[-1]}",
                               hint=_auth_conflict_hint(text)) from None
        if "cannot configure default credentials" in text or "default auth" in text:
            raise ServiceError(
                f"no Databricks credentials for target {target.name!r}",
                hint="set DATABRICKS_TOKEN (a PAT), or ARM_CLIENT_ID/ARM_CLIENT_SECRET/ARM_TENANT_ID (service "
                     "principal), or `profile:` in mlops.yaml; in Azure Pipelines use the AzureCLI task or "
                     "a workload identity service connection",
            ) from None
        raise ServiceError(f"Databricks client for target {target.name!r}: {text}") from None
    _fail_fast(client)
    _widen_pool(client)
    return client


def _unreachable(host: str) -> str | None:
    """Why ``host`` cannot be reached at all (one quick request), or None."""
    import requests

    from ..net import CONNECT_TIMEOUT, unreachable

    try:
        requests.get(host, timeout=(CONNECT_TIMEOUT, 10), allow_redirects=False).close()
    except Exception as exc:  # noqa: BLE001 - only the unreachable kinds matter here
        return unreachable(exc)
    return None


def _config_class() -> type:
    """The SDK's ``Config`` whose host-metadata probe cannot hold a command for minutes.

    While building the config the SDK asks ``/.well-known/databricks-config``, with the whole
    retry budget, before any real call. The answer only feeds OAuth/OIDC discovery, so with a
    PAT the probe is skipped; otherwise it gets one quick try (on failure the SDK falls back to
    the explicit settings, and the first real call reports the unreachable host).
    """
    import logging

    from databricks.sdk.config import Config

    class FailFastConfig(Config):
        @classmethod
        def attributes(cls):  # the SDK reads them from the class's own __dict__
            return Config.attributes()

        def _resolve_host_metadata(self) -> None:
            if self.token or self.auth_type == "pat":
                return
            saved = dict(self._inner)
            log = logging.getLogger("databricks.sdk")
            level = log.level
            if not log.isEnabledFor(logging.DEBUG):
                log.setLevel(logging.ERROR)  # its "falling back" warning is noise before our own error
            self.retry_timeout_seconds, self.http_timeout_seconds = 1, 5
            try:
                super()._resolve_host_metadata()
            finally:
                for key in ("retry_timeout_seconds", "http_timeout_seconds"):
                    if key in saved:
                        self._inner[key] = saved[key]
                    else:
                        self._inner.pop(key, None)
                log.setLevel(level)

    return FailFastConfig


def _fail_fast(client: Any) -> None:
    """No retries when the host cannot be reached at all; a bounded wait for a TCP connection."""
    from databricks.sdk._base_client import _BaseClient

    from ..net import CONNECT_TIMEOUT, unreachable

    def is_retryable(err: BaseException) -> str | None:
        return None if unreachable(err) else _BaseClient._is_retryable(err)

    try:
        base = client.api_client._api_client
        base._is_retryable = is_retryable
        base._http_timeout_seconds = (CONNECT_TIMEOUT, base._http_timeout_seconds)
    except AttributeError:  # pragma: no cover - private attributes moved: the SDK's own retries apply
        pass


def _widen_pool(client: Any) -> None:
    """The SDK mounts its sized connection pool for https:// only; give http:// (loopback) the same."""
    try:
        import requests

        session = client.api_client._api_client._session
        session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=32, pool_maxsize=32, pool_block=True))
    except Exception:  # pragma: no cover - private attribute moved; only throughput suffers
        pass


def client_for(ctx: Any) -> Any:
    """One client per Context (the workspace and jobs adapters share it)."""
    client = getattr(ctx, "_databricks_client", None)
    if client is None:
        from ..net import retry_budget

        client = build_client(ctx.target, budget=retry_budget(ctx))
        ctx._databricks_client = client
    return client


# ------------------------------------------------------------------ errors
def status_of(exc: BaseException) -> int | None:
    from databricks.sdk.errors import DatabricksError

    if isinstance(exc, DatabricksError):
        resp = getattr(exc, "_response", None)
        code = getattr(resp, "status_code", None)
        if code is not None:
            return int(code)
        name = type(exc).__name__
        return {"NotFound": 404, "ResourceDoesNotExist": 404, "PermissionDenied": 403, "Unauthenticated": 401,
                "ResourceAlreadyExists": 409, "TooManyRequests": 429, "TemporarilyUnavailable": 503,
                "InternalError": 500, "BadRequest": 400, "InvalidParameterValue": 400}.get(name)
    return None


def error_code(exc: BaseException) -> str:
    return str(getattr(exc, "error_code", "") or "")


def is_not_found(exc: BaseException) -> bool:
    from databricks.sdk.errors import NotFound, ResourceDoesNotExist

    return isinstance(exc, (NotFound, ResourceDoesNotExist)) or error_code(exc) == "RESOURCE_DOES_NOT_EXIST"


def gave_up(exc: BaseException) -> bool:
    """The SDK spent its retry budget on this request (``TimeoutError: Timed out after ...``)."""
    return isinstance(exc, TimeoutError) and str(exc).startswith("Timed out after")


def is_transient(exc: BaseException) -> bool:
    """Worth another try: throttling, 5xx, a dropped connection; not an unreachable host, not a spent budget."""
    import requests

    from ..net import unreachable

    if gave_up(exc) or unreachable(exc):
        return False
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, TimeoutError, ConnectionError)):
        return True
    if isinstance(exc, RuntimeError) and "retry" in str(exc).lower():  # the Files API's attempt cap
        return True
    status = status_of(exc)
    return status is not None and (status == 429 or status >= 500)


_HOST_HINT = "check the target's host in mlops.yaml or DATABRICKS_HOST, the network, the proxy and the certificates"


def translate(exc: BaseException, what: str) -> MlopsError:
    """An SDK / transport exception as one of our errors, with a hint a person can act on."""
    from databricks.sdk.errors import DatabricksError

    from ..net import host_of, unreachable, unreachable_error

    if isinstance(exc, MlopsError):
        return exc
    reason = unreachable(exc)
    if reason:
        return unreachable_error(what, host_of(exc), reason, hint=_HOST_HINT)
    if gave_up(exc):
        last = exc.__cause__
        spent = str(exc).removeprefix("Timed out after ").strip()
        detail = f"{type(last).__name__}: {str(last).splitlines()[0]}" if last is not None and str(last) else "no answer"
        return ServiceError(f"{what}: still failing after retrying for {spent} (last: {detail})",
                            hint="the workspace is throttling or unavailable; try later, or give it longer with "
                                 "--timeout SECONDS or the target's retry_timeout")
    status = status_of(exc)
    message = str(exc).split("\n")[0]
    if status == 401 or error_code(exc) == "UNAUTHENTICATED":
        return ServiceError(f"{what}: Databricks rejected the credentials ({message})",
                            hint="check DATABRICKS_TOKEN or the service principal, and the target's host")
    if status == 403 or error_code(exc) == "PERMISSION_DENIED":
        return ServiceError(f"{what}: permission denied ({message})",
                            hint="grant the identity running mlops access to this path or job")
    if error_code(exc) == "RESOURCE_ALREADY_EXISTS":
        return ConflictError(f"{what}: {message}")
    if is_not_found(exc):
        return ServiceError(f"{what}: not found ({message})")
    if isinstance(exc, DatabricksError):
        return ServiceError(f"{what}: {message}")
    if is_transient(exc):
        return ServiceError(f"{what}: the workspace could not be reached ({type(exc).__name__}: {message})",
                            hint="check the target's host and the network; retried before giving up")
    return ServiceError(f"{what}: {type(exc).__name__}: {message}")


def call(fn: Callable[[], T], what: str, *, attempts: int = 4, retry: bool = True) -> T:
    """Run one SDK call; retry transient failures the SDK gave up on (idempotent calls only)."""
    delay = 0.2
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - translated below
            if retry and attempt < attempts and is_transient(exc):
                time.sleep(delay)
                delay *= 2
                continue
            raise translate(exc, what) from None
    raise AssertionError("unreachable")  # pragma: no cover
