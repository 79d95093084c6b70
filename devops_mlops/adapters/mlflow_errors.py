"""MLflow and connection errors as one-line :class:`ServiceError` (exit 2), each with a hint a
person can act on. Every call the MLflow adapters make runs inside :func:`translate`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ..errors import ServiceError


def _hint(code: str | None, message: str, uri: str) -> str | None:
    if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
        return "check the name with `mlops model status`, or register the model first"
    if code in ("PERMISSION_DENIED", "UNAUTHENTICATED", "UNAUTHORIZED") or "403" in message or "401" in message:
        return "the identity needs MANAGE/EDIT permission on the model (and USE on its catalog and schema)"
    if "database is locked" in message:
        return "another mlops process holds the local registry; retry"
    if "Max retries exceeded" in message or "Connection" in message or "timed out" in message.lower():
        return f"is the registry at {uri} up and reachable? check tracking_uri/registry_uri of the target"
    return None


@contextlib.contextmanager
def translate(what: str, uri: str) -> Iterator[None]:
    """Turn MLflow and connection errors into one-line ServiceErrors."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        code = getattr(exc, "error_code", None)
        message = str(getattr(exc, "message", exc)).strip().splitlines()[0] if str(exc).strip() else code
        if "Max retries exceeded" in str(exc) or "Failed to establish" in str(exc):
            message = f"cannot reach the registry at {uri}"
        raise ServiceError(f"{what}: {message}", hint=_hint(code, str(exc), uri)) from None
    except (ConnectionError, OSError) as exc:
        raise ServiceError(f"{what}: {exc}", hint=_hint(None, "Connection", uri)) from None
    except ValueError as exc:
        if "default auth" not in str(exc) and "authorization method" not in str(exc):
            raise
        raise ServiceError(f"{what}: no Databricks credentials for {uri}",
                           hint="set DATABRICKS_TOKEN (or a service principal), or the target's profile:") from None
    except Exception as exc:
        if type(exc).__module__.startswith(("requests", "urllib3", "sqlalchemy")):
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise ServiceError(f"{what}: {first}", hint=_hint(None, str(exc), uri)) from None
        raise
