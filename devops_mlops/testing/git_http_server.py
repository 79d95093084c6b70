"""A loopback smart-HTTP git server: ``git http-backend`` behind a token check.

Serves the bare repositories under ``root`` at ``http://127.0.0.1:<port>/<name>.git``.
Every request must carry ``Authorization: Bearer <token>`` (or Basic with the
token as password); otherwise it answers 401 and the client fails (tests run
with ``GIT_TERMINAL_PROMPT=0``). It records each request (method, path,
service, the Authorization scheme, whether it was accepted) and, while a client
is talking to it, scans every process's command line (``/proc/*/cmdline``) for
the token, so a test can prove the token travelled only in the header::

    with GitHttpServer(tmp / "remotes", token="s3cret") as server:
        url = server.url_for("repo.git")
        ...push...
        assert server.pushes() and not server.leaks
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit


@dataclass
class GitRequest:
    method: str
    path: str
    query: str
    auth_scheme: str | None  # "bearer" | "basic" | other | None
    authorized: bool
    status: int = 0

    @property
    def service(self) -> str | None:
        if "service=" in self.query:
            return self.query.split("service=", 1)[1].split("&", 1)[0]
        if self.path.endswith(("/git-upload-pack", "/git-receive-pack")):
            return self.path.rsplit("/", 1)[1]
        return None


class GitHttpServer:
    def __init__(self, root: str | Path, *, token: str | None, scan_processes: bool = True,
                 on_push: Callable[[Path], None] | None = None):
        self.root = Path(root)
        #: called with the bare repository's path after each accepted push (e.g. to mirror refs elsewhere)
        self.on_push = on_push
        self.token = token
        self.scan_processes = scan_processes
        self.requests: list[GitRequest] = []
        #: (pid, cmdline) of processes whose arguments contained the token
        self.leaks: list[tuple[int, str]] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------ helpers
    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url_for(self, name: str) -> str:
        return f"{self.url}/{name}"

    def pushes(self) -> list[GitRequest]:
        return [r for r in self.requests if r.method == "POST" and r.service == "git-receive-pack"]

    def rejected(self) -> list[GitRequest]:
        return [r for r in self.requests if not r.authorized]

    def _authorized(self, header: str) -> tuple[str | None, bool]:
        if not header:
            return None, self.token is None
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if self.token is None:
            return scheme, True
        if scheme == "bearer":
            return scheme, value.strip() == self.token
        if scheme == "basic":
            try:
                user_pass = base64.b64decode(value.strip()).decode()
            except (ValueError, UnicodeDecodeError):
                return scheme, False
            return scheme, user_pass.split(":", 1)[-1] == self.token
        return scheme, False

    def _scan(self) -> None:
        if not self.scan_processes or not self.token or not os.path.isdir("/proc"):
            return
        needle = self.token.encode()
        encoded = base64.b64encode(f":{self.token}".encode())
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if needle in cmd or encoded in cmd:
                with self.lock:
                    self.leaks.append((int(entry), cmd.replace(b"\0", b" ").decode("utf-8", "replace")))

    # ------------------------------------------------------------ serving
    def start(self) -> GitHttpServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self)

            do_POST = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="GitHttpServer", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _read_body(self, h: BaseHTTPRequestHandler) -> bytes:
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(h.rfile.read(size))
                h.rfile.readline()
            return b"".join(chunks)
        length = int(h.headers.get("Content-Length") or 0)
        return h.rfile.read(length) if length else b""

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        body = self._read_body(h) if h.command == "POST" else b""
        scheme, ok = self._authorized(h.headers.get("Authorization", ""))
        req = GitRequest(h.command, split.path, split.query, scheme, ok)
        with self.lock:
            self.requests.append(req)
        self._scan()
        if not ok:
            req.status = 401
            self._send(h, 401, {"WWW-Authenticate": 'Basic realm="git"', "Content-Type": "text/plain"}, b"unauthorized\n")
            return
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REMOTE_USER": "build-service",
            "REMOTE_ADDR": "127.0.0.1",
            "REQUEST_METHOD": h.command,
            "PATH_INFO": split.path,
            "QUERY_STRING": split.query,
            "CONTENT_TYPE": h.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        if h.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = h.headers["Git-Protocol"]
        if h.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = h.headers["Content-Encoding"]
        proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = proc.stdout.partition(b"\n\n")
        status, headers = 200, {}
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers[name.strip()] = value.strip()
        req.status = status
        if self.on_push and req.service == "git-receive-pack" and h.command == "POST" and status == 200:
            repo = self.root / split.path.strip("/").rsplit("/", 1)[0]
            self.on_push(repo)
        self._send(h, status, headers, payload)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], payload: bytes) -> None:
        try:
            h.send_response(status)
            for k, v in headers.items():
                if k.lower() not in ("content-length", "transfer-encoding"):
                    h.send_header(k, v)
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass


def mirror_refs(bare: str | Path, emulator: Any, repository: str) -> None:
    """Copy the branches of ``bare`` into an Azure DevOps emulator repository (``emulator.set_ref``)."""
    out = subprocess.run(["git", "-C", str(bare), "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads"],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        name, sha = line.split()
        emulator.set_ref(repository, name, sha)


def init_bare(path: str | Path, *, branch: str = "main") -> Path:
    """A bare repository that accepts pushes over HTTP."""
    p = Path(path)
    subprocess.run(["git", "init", "-q", "--bare", f"--initial-branch={branch}", str(p)], check=True)
    subprocess.run(["git", "-C", str(p), "config", "http.receivepack", "true"], check=True)
    return p


# ---------------------------------------------------------------- repository helpers for tests


def git(cwd: str | Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git in ``cwd`` (a test's temporary repository); its stdout, stripped."""
    full = dict(os.environ, **(env or {}))
    proc = subprocess.run(["git", *args], cwd=str(cwd), env=full, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def seed(bare: str | Path, files: dict[str, str], *, work: str | Path, branch: str = "main", message: str = "seed") -> str:
    """Commit ``files`` on ``branch`` of the bare repository (through a scratch clone at ``work``)."""
    work = Path(work)
    if not (work / ".git").exists():
        git(work.parent, "clone", "-q", str(bare), work.name)
        git(work, "checkout", "-q", "-B", branch)
    else:
        git(work, "fetch", "-q", "origin")
        git(work, "checkout", "-q", "-B", branch, f"origin/{branch}")
    for rel, text in files.items():
        f = work / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
        git(work, "add", "--", rel)
    git(work, "commit", "-q", "-m", message)
    git(work, "push", "-q", "origin", f"HEAD:refs/heads/{branch}")
    return git(work, "rev-parse", "HEAD")


def agent_checkout(url: str, dest: str | Path, *, branch: str = "main", depth: int = 1, env: dict[str, str] | None = None) -> Path:
    """Check out like an Azure Pipelines agent: init, fetch ``--depth``, detached HEAD."""
    dest = Path(dest)
    dest.mkdir(parents=True)
    git(dest, "init", "-q")
    git(dest, "remote", "add", "origin", url)
    git(dest, "fetch", "-q", "--no-tags", f"--depth={depth}", "origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}", env=env)
    git(dest, "checkout", "-q", "--detach", f"refs/remotes/origin/{branch}")
    return dest


def pre_receive_hook(bare: str | Path, message: str, *, refs: str = "refs/heads/main") -> None:
    """Reject pushes to ``refs`` (a regex) with ``message`` on stderr, like Azure Repos policies do."""
    hook = Path(bare) / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\n"
        "while read old new ref; do\n"
        f"  if echo \"$ref\" | grep -Eq '^({refs})$'; then echo '{message}' >&2; exit 1; fi\n"
        "done\nexit 0\n"
    )
    hook.chmod(0o755)
