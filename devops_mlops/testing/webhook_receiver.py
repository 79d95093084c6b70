"""A loopback webhook receiver (Teams Workflows stand-in): records every POST, fails on demand.

    with WebhookReceiver() as hook:
        url = hook.url_for("workflows/abc")       # any path; the query string is kept in the log
        ...                                       # code under test POSTs there
        assert hook.posts[0]["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
        hook.fail_next(500)                       # the next POST is answered 500
        hook.status = 400                         # every POST answered 400 from now on

A Teams Workflows trigger answers 202 Accepted with an empty body; so does this.
"""

from __future__ import annotations

from typing import Any

from .http import Emulator, Faults, Request, Response


class WebhookReceiver(Emulator):
    def __init__(self, *, status: int = 202, faults: Faults | None = None, latency: float = 0.0) -> None:
        super().__init__(token=None, latency=latency, faults=faults)
        self.status = status
        self._fail: list[int] = []
        self.received: list[Request] = []
        self.route("POST", "/{path:path}", self._post)

    def url_for(self, path: str = "webhook", query: str = "sig=receiver-signature") -> str:
        return f"{self.url}/{path.lstrip('/')}" + (f"?{query}" if query else "")

    def fail_next(self, status: int = 500, times: int = 1) -> None:
        self._fail.extend([status] * times)

    @property
    def posts(self) -> list[Any]:
        """The JSON bodies of the POSTs answered with success, in order."""
        return [r.json for r in self.received]

    def _post(self, req: Request) -> Response:
        status = self._fail.pop(0) if self._fail else self.status
        if status >= 300:
            return Response(status, {"error": {"code": "TriggerRequestFailed", "message": f"the receiver answered {status}"}})
        if req.json is None:
            return Response(400, {"error": {"code": "InvalidRequestContent", "message": "the body is not JSON"}})
        self.received.append(req)
        return Response(status, b"", {"Content-Type": "text/plain"})
