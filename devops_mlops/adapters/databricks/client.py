"""The one way mlops builds a ``WorkspaceClient`` and turns SDK exceptions into our errors.

Auth is the SDK's unified auth: ``host`` from the target (else ``DATABRICKS_HOST`` / the
profile), then a PAT from ``DATABRICKS_TOKEN``, a ``profile`` from ~/.databrickscfg, an Azure
service principal (``ARM_CLIENT_ID`` / ``ARM_CLIENT_SECRET`` / ``ARM_TENANT_ID``) or Azure DevOps
OIDC. Two methods at once (e.g. ``ARM_CLIENT_SECRET`` next to ``DATABRICKS_TOKEN``) is
reported with the fix instead of the SDK's bare ``validate:`` error.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
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

    Only the SDK's public settings are used (``Config`` attributes and constructor arguments).
    Before the first real call, one quick request checks that the host answers at all: a
    refused connection, a name that does not resolve or a failed TLS handshake is reported at
    once instead of being retried for the whole budget. ``budget``: seconds the SDK may spend
    retrying one request (429, 503, resets) afterwards.
    """
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    from ..net import DEFAULT_RETRY_BUDGET, probe, unreachable_error

    kwargs: dict[str, Any] = {"product": "devops-mlops", "product_version": "0.1.0"}
    if target.host:
        kwargs["host"] = target.host
    if target.profile:
        kwargs["profile"] = target.profile
    # The SDK asks the host's /.well-known/databricks-config while the Config is built, with the
    # Config's own timeouts; the answer only feeds OAuth discovery and the SDK falls back to the
    # explicit settings when it fails. So the Config is built with a short budget, one quick
    # try, and given the real one before any call is made.
    kwargs["retry_timeout_seconds"] = METADATA_BUDGET
    kwargs["http_timeout_seconds"] = METADATA_TIMEOUT
    kwargs.update(_pool_settings(Config))

    def check_reachable(host: str | None, verify: bool = True) -> None:
        if not host:
            return
        reason = probe(host if "://" in host else f"https://{host}", verify=verify)
        if reason:
            raise unreachable_error(f"Databricks target {target.name!r}", urlsplit(host).netloc or host,
                                    reason, hint=_HOST_HINT)

    try:
        with _quiet_sdk_log():  # its "falling back" warning is noise before our own error
            config = Config(**kwargs)
    except ValueError as exc:
        # OAuth and Entra ID logins ask the host while the Config is built: a dead host is the real story
        check_reachable(target.host or os.environ.get("DATABRICKS_HOST"))
        raise _config_error(target, str(exc)) from None
    # the host of the target, the environment or the profile; the profile's skip_verify honoured
    check_reachable(config.host, verify=not config.skip_verify)
    config.retry_timeout_seconds = budget or DEFAULT_RETRY_BUDGET
    config.http_timeout_seconds = HTTP_TIMEOUT
    try:
        client = WorkspaceClient(config=config)
    except ValueError as exc:  # pragma: no cover - the Config above was already validated
        raise _config_error(target, str(exc)) from None
    return client


#: seconds the SDK's host-metadata request may take while the Config is built, and its timeout
METADATA_BUDGET = 2
METADATA_TIMEOUT = 5
#: seconds one request may wait for an answer (the SDK's default)
HTTP_TIMEOUT = 60


@contextlib.contextmanager
def _quiet_sdk_log() -> Iterator[None]:
    import logging

    log = logging.getLogger("databricks.sdk")
    level = log.level
    if not log.isEnabledFor(logging.DEBUG):
        log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


#: threads that talk to one workspace at once (sync and deploy use up to 16)
POOL_SIZE = 32


def _config_error(target: Any, text: str) -> ServiceError:
    """The SDK's ValueError about settings as our error, with the fix."""
    if "more than one authorization method" in text:
        return ServiceError(f"Databricks auth for target {target.name!r}: {text.split(': ', 1)[-1]}",
                            hint=_auth_conflict_hint(text))
    if "cannot configure default credentials" in text or "default auth" in text:
        return ServiceError(
            f"no Databricks credentials for target {target.name!r}",
            hint="set DATABRICKS_TOKEN (a PAT), or ARM_CLIENT_ID/ARM_CLIENT_SECRET/ARM_TENANT_ID (service "
                 "principal), or `profile:` in mlops.yaml; in Azure Pipelines use the AzureCLI task or "
                 "a workload identity service connection")
    return ServiceError(f"Databricks client for target {target.name!r}: {text.splitlines()[0]}")


def _pool_settings(config_class: type) -> dict[str, Any]:
    """Connection-pool settings for ``Config``, all public: the pool sizes apply to https://; SDK
    releases whose ``Config`` takes ``http_adapter`` get one adapter for http:// (a loopback
    emulator) and https:// alike. Older releases keep requests' default pool for http://."""
    import inspect

    out: dict[str, Any] = {"max_connection_pools": POOL_SIZE, "max_connections_per_pool": POOL_SIZE}
    try:
        accepts_adapter = "http_adapter" in inspect.signature(config_class.__init__).parameters
    except (TypeError, ValueError):  # pragma: no cover - a signature that cannot be read
        accepts_adapter = False
    if accepts_adapter:
        import requests

        out["http_adapter"] = requests.adapters.HTTPAdapter(pool_connections=POOL_SIZE, pool_maxsize=POOL_SIZE,
                                                            pool_block=True)
    return out


def client_for(ctx: Any) -> Any:
    """One client per Context (the workspace and jobs adapters share it)."""
    client = getattr(ctx, "_databricks_client", None)
    if client is None:
        from ..net import retry_budget

        from ...deps import warn_untested

        warn_untested(getattr(ctx, "console", None), "databricks-sdk")
        client = build_client(ctx.target, budget=retry_budget(ctx))
        ctx._databricks_client = client
    return client


# ------------------------------------------------------------------ errors
def status_of(exc: BaseException) -> int | None:
    """The HTTP status an SDK error stands for, from its public class (the SDK maps each status to one)."""
    from databricks.sdk import errors

    if not isinstance(exc, errors.DatabricksError):
        return None
    for name, code in _STATUS_CLASSES:
        cls = getattr(errors, name, None)
        if isinstance(cls, type) and isinstance(exc, cls):
            return code
    return None


#: databricks.sdk.errors classes by the status they stand for (subclasses first)
_STATUS_CLASSES = (("ResourceDoesNotExist", 404), ("NotFound", 404), ("ResourceAlreadyExists", 409),
                   ("Aborted", 409), ("ResourceConflict", 409), ("InvalidParameterValue", 400),
                   ("BadRequest", 400), ("Unauthenticated", 401), ("PermissionDenied", 403),
                   ("TooManyRequests", 429), ("ResourceExhausted", 429), ("RequestLimitExceeded", 429),
                   ("NotImplemented", 501), ("TemporarilyUnavailable", 503), ("DeadlineExceeded", 504),
                   ("InternalError", 500))


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
