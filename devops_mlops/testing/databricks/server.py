"""The HTTP side of the Databricks emulator: the loopback server every API area is mounted on.

:class:`DatabricksServer` is :class:`devops_mlops.testing.http.Emulator` (a threaded server on a
free loopback port, the request log, fault injection through ``emu.faults``, latency, the token
check) with what a Databricks workspace adds: the public host-metadata probe the SDK sends first
(``GET /.well-known/databricks-config``), the user the token stands for, Databricks' error body
(``{error_code, message}``) and one clock of strictly increasing milliseconds for the areas'
timestamps.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from ..http import Emulator, Faults, HttpError, Request, Response


def err(status: int, code: str, message: str) -> HttpError:
    """A Databricks error answer (``error_code`` as the service spells it, and a message)."""
    return HttpError(status, {"error_code": code, "message": message})


class DatabricksServer(Emulator):
    """The server and what every area shares: ``user``, ``_now()``, ``api_requests()``."""

    def __init__(self, *, token: str | None, latency: float, faults: Faults | None, user: str):
        super().__init__(token=token, latency=latency, faults=faults)
        self.user = user
        self._last_ms = 0
        self.route("GET", "/.well-known/databricks-config", lambda q: {"workspace_id": "1234567890", "cloud": "azure"})

    def _send(self, h: Any, response: Response) -> None:
        # headers and body leave in two writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms each
        try:
            h.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        super()._send(h, response)

    def authorized(self, req: Request) -> bool:
        # the host-metadata probe is public, as on a real workspace
        return req.path.startswith("/.well-known/") or super().authorized(req)

    def api_requests(self) -> list[Request]:
        """Requests to /api/ (leaves out the SDK's host-metadata probe)."""
        return [r for r in self.requests if r.path.startswith("/api/")]

    def _now(self) -> int:
        """Epoch milliseconds, later than any earlier answer (two writes never share a time)."""
        ms = max(int(time.time() * 1000), self._last_ms + 1)
        self._last_ms = ms
        return ms
