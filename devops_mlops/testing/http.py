"""A loopback HTTP server base for the REST emulators (Databricks, Azure DevOps, ARM).

An emulator subclasses :class:`Emulator`, registers routes with :meth:`route`
and keeps its own state. The base gives every emulator:

* a threaded server on 127.0.0.1 with a free port (``with emu: ...`` or ``start()/stop()``),
* a request log (``emu.requests``, ``emu.requests_by_path(...)``, ``emu.writes()``),
* fault injection (:class:`Faults`): 429 with Retry-After, 500/503, connection
  resets, slow answers, and a write applied on the server whose response is lost,
* optional latency per request (benchmarks),
* a required-token check (``token=...``) so tests prove auth headers are sent.
"""

from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes -> raw
    headers: dict[str, str] = field(default_factory=dict)


class HttpError(Exception):
    """Raise from a handler to answer with an error body."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


@dataclass
class Faults:
    """What goes wrong. ``rate`` is the chance a matching request fails;
    ``kinds`` picks among 'throttle', '500', '503', 'reset', 'slow', 'lost'.
    ``script`` forces the next matching requests' faults in order."""

    rate: float = 0.0
    kinds: tuple[str, ...] = ("throttle", "503", "reset")
    methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")
    path_pattern: str | None = None
    retry_after: int = 1
    slow_seconds: float = 0.5
    seed: int = 7
    script: list[str] = field(default_factory=list)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def pick(self, method: str, path: str) -> str | None:
        if method not in self.methods:
            return None
        if self.path_pattern and not re.search(self.path_pattern, path):
            return None
        if self.script:
            return self.script.pop(0)
        if self.rate and self._rng.random() < self.rate:
            return self._rng.choice(self.kinds)
        return None


class Emulator:
    """Base class: subclass, register routes in ``__init__``, keep state under ``self.lock``."""

    def __init__(self, *, token: str | None = None, latency: float = 0.0, faults: Faults | None = None):
        self.token = token
        self.latency = latency
        self.faults = faults or Faults()
        self.lock = threading.RLock()
        self.requests: list[Request] = []
        self.faults_injected: list[tuple[str, str, str]] = []
        self._routes: list[tuple[str, re.Pattern, Callable[[Request], Any]]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ routing
    def route(self, method: str, pattern: str, handler: Callable[[Request], Any]) -> None:
        """``pattern``: a path with ``{name}`` placeholders (one path segment each)."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        regex = re.sub(r"\{(\w+):path\}", r"(?P<\1>.+)", regex)
        self._routes.append((method, re.compile("^" + regex + "$"), handler))

    def authorized(self, req: Request) -> bool:
        if self.token is None:
            return True
        auth = req.headers.get("authorization", "")
        return auth in (f"Bearer {self.token}",) or self.check_basic(auth)

    def check_basic(self, auth: str) -> bool:
        import base64

        if not auth.startswith("Basic "):
            return False
        try:
            user_pass = base64.b64decode(auth[6:]).decode()
        except Exception:
            return False
        return user_pass.split(":", 1)[-1] == self.token

    def unauthorized(self, req: Request) -> Response:
        return Response(401, {"error_code": "UNAUTHENTICATED", "message": "invalid or missing token"})

    def not_found(self, req: Request) -> Response:
        return Response(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for '{req.method} {req.path}'"})

    # ------------------------------------------------------------ log helpers
    def requests_by_path(self, pattern: str, method: str | None = None) -> list[Request]:
        rx = re.compile(pattern)
        return [r for r in self.requests if rx.search(r.path) and (method is None or r.method == method)]

    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]

    def reset_log(self) -> None:
        with self.lock:
            self.requests.clear()
            self.faults_injected.clear()

    # ------------------------------------------------------------ server
    @property
    def url(self) -> str:
        assert self._server is not None, "emulator not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "Emulator":
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def setup(self) -> None:
                super().setup()
                # headers and body go out as separate writes: without this, Nagle's algorithm
                # and delayed ACKs add ~40 ms to every keep-alive request
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _handle(self) -> None:
                emulator._dispatch(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------ dispatch
    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        if len(body) < length:  # the client died mid-request: a real server never acts on half a body
            h.close_connection = True
            return
        req = Request(
            method=h.command,
            path=split.path,
            query=parse_qs(split.query),
            headers={k.lower(): v for k, v in h.headers.items()},
            body=body,
        )
        if body and "json" in req.headers.get("content-type", "json"):
            try:
                req.json = json.loads(body)
            except ValueError:
                req.json = None
        with self.lock:
            self.requests.append(req)
        if self.latency:
            time.sleep(self.latency)
        fault = self.faults.pick(req.method, req.path)
        if fault:
            self.faults_injected.append((req.method, req.path, fault))
        if fault == "slow":
            time.sleep(self.faults.slow_seconds)
        elif fault == "throttle":
            return self._send(h, self.fault_response(429, {"Retry-After": str(self.faults.retry_after)}))
        elif fault in ("500", "503"):
            return self._send(h, self.fault_response(int(fault), {}))
        elif fault == "reset":
            return self._reset(h)
        response = self._call(req)
        if fault == "lost":
            return self._reset(h)  # the write happened; its answer never arrives
        self._send(h, response)

    def fault_response(self, status: int, headers: dict[str, str]) -> Response:
        """The answer of an injected 429/500/503 (emulators answer the way their service does)."""
        if status == 429:
            return Response(429, {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "rate limited"}, headers)
        return Response(status, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "try again"}, headers)

    def _call(self, req: Request) -> Response:
        if not self.authorized(req):
            return self.unauthorized(req)
        for method, regex, handler in self._routes:
            if method != req.method:
                continue
            m = regex.match(req.path)
            if not m:
                continue
            req.params = m.groupdict()
            try:
                with self.lock:
                    out = handler(req)
            except HttpError as err:
                return Response(err.status, err.body, err.headers)
            if isinstance(out, Response):
                return out
            return Response(200, out if out is not None else {})
        return self.not_found(req)

    def _send(self, h: BaseHTTPRequestHandler, response: Response) -> None:
        if isinstance(response.body, (bytes, bytearray)):
            data = bytes(response.body)
            ctype = response.headers.get("Content-Type", "application/octet-stream")
        else:
            data = json.dumps(response.body if response.body is not None else {}).encode()
            ctype = "application/json"
        try:
            h.send_response(response.status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(data)))
            for k, v in response.headers.items():
                if k.lower() != "content-type":
                    h.send_header(k, v)
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    @staticmethod
    def _reset(h: BaseHTTPRequestHandler) -> None:
        try:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        h.close_connection = True
        try:
            h.connection.close()
        except OSError:
            pass
