"""Network failures that no retry can fix, and the retry budget for the ones it can.

Both SDKs (databricks-sdk, msrest/urllib3 for Azure DevOps) retry any connection error. A
refused connection, a host name that does not resolve or a failed TLS handshake does not get
better in the next two minutes, so :func:`unreachable` tells those apart (the adapters stop at
once with :func:`unreachable_error`), while throttling (429), unavailability (503) and dropped
connections keep being retried, within :func:`retry_budget` seconds.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

from ..errors import ServiceError, UsageError

#: seconds of retrying (429, 503, resets) before giving up, unless --timeout or retry_timeout says otherwise
DEFAULT_RETRY_BUDGET = 120
#: seconds to wait for a TCP connection (a host that drops packets answers nothing at all)
CONNECT_TIMEOUT = 10


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps: args, urllib3's ``reason``, ``__cause__``, ``__context__``."""
    out: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo and len(out) < 30:
        e = todo.pop(0)
        if not isinstance(e, BaseException) or any(e is seen for seen in out):
            continue
        out.append(e)
        todo.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))
        todo.extend([getattr(e, "reason", None), getattr(e, "original_error", None), e.__cause__, e.__context__])
    return out


def unreachable(exc: BaseException) -> str | None:
    """What made the host unreachable ('connection refused', ...) when retrying cannot help; else None."""
    from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError, SSLError

    chain = _causes(exc)
    for e in chain:
        if isinstance(e, (NameResolutionError, socket.gaierror)):
            return "the host name does not resolve (DNS lookup failed)"
        if isinstance(e, ConnectionRefusedError):
            return "connection refused (nothing listens on that port)"
        if isinstance(e, (ssl.SSLError, ssl.CertificateError, SSLError)):
            reason = getattr(e, "reason", None) or str(e).split("] ")[-1].split(" (_ssl")[0]
            return f"TLS handshake failed ({str(reason).lower()})"
    for e in chain:
        if isinstance(e, ConnectTimeoutError) and not isinstance(e, NewConnectionError):
            return f"no answer to the connection within {CONNECT_TIMEOUT} s"
        if isinstance(e, NewConnectionError):
            return "cannot connect: " + str(e).rsplit(": ", 1)[-1]
    return None


def host_of(exc: BaseException, default: str = "") -> str:
    """The host (and port) the failed request went to, when the exception knows it."""
    for e in _causes(exc):
        request = getattr(e, "request", None)
        url = getattr(request, "url", None)
        if isinstance(url, str) and url:
            return urlsplit(url).netloc or default
        pool = getattr(e, "pool", None) or getattr(e, "conn", None)
        host = getattr(pool, "host", None)
        if host:
            port = getattr(pool, "port", None)
            return f"{host}:{port}" if port else host
    return default


def unreachable_error(what: str, host: str, reason: str, *, hint: str) -> ServiceError:
    return ServiceError(f"{what}: cannot reach {host or 'the host'}: {reason}", hint=hint)


def retry_budget(ctx: Any = None) -> int:
    """Seconds of retrying allowed per request: ``--timeout``, else the target's ``retry_timeout``, else 120."""
    for value, where in ((getattr(ctx, "timeout", None), "--timeout"),
                         (getattr(getattr(ctx, "target", None), "retry_timeout", None), "retry_timeout")):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise UsageError(f"{where} must be a positive number of seconds, got {value!r}")
        return max(1, int(value))
    return DEFAULT_RETRY_BUDGET


def probe(url: str, *, verify: bool = True) -> str | None:
    """Why ``url``'s host cannot be reached at all (one quick GET, no redirects followed), or None.

    Any HTTP answer, an error status included, means the host is there. Run once before an SDK's
    first call: the SDKs retry a refused connection for their whole budget."""
    import requests

    try:
        requests.get(url, timeout=(CONNECT_TIMEOUT, CONNECT_TIMEOUT), allow_redirects=False, verify=verify).close()
    except requests.Timeout as exc:
        return unreachable(exc) or f"no answer within {CONNECT_TIMEOUT} s"
    except requests.RequestException as exc:  # a reset or a cut answer: the host is there, retries may help
        return unreachable(exc)
    return None
