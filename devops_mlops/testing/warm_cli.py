"""Real `mlops` processes without the start-up: each run is forked from a server that has
already imported the CLI (and whatever heavy libraries the caller names).

Tests that start the CLI a hundred times (hostile input, crash points, locks) pay, per run, an
interpreter start and the imports of click, the SDKs and MLflow: seconds on a busy machine,
most of the suite's wall time in those files. A forked run keeps what makes a subprocess worth
having: its own process (its exit code, the signal that killed it, its peak RSS from
``wait4``, an address-space limit of its own), its own session, working folder and whole
environment, standard streams of its own, and a normal interpreter exit (``atexit`` handlers,
non-daemon threads joined). It runs ``devops_mlops/__main__.py`` as ``python -m devops_mlops``
does (``sys.argv``, ``sys.path[0]`` = the working folder).

    with WarmCli(preload=["devops_mlops.cli.app", "databricks.sdk"]) as cli:
        run = cli.run(["--target", "dev", "sync"], cwd=root, env={**os.environ, "DATABRICKS_TOKEN": t})
        assert run.returncode == 0, run.stderr

The server is single-threaded (forking a threaded process is unsafe: it refuses to start when a
preloaded module started a thread) and serves one run at a time.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_SERVER = r"""
import importlib, importlib.util, json, os, resource, runpy, sys, threading
for name in sys.argv[1:]:
    importlib.import_module(name)
if threading.active_count() != 1:
    sys.exit(f"warm_cli: preloading started threads {threading.enumerate()}; refusing to fork")
MAIN = importlib.util.find_spec("devops_mlops.__main__").origin
requests = sys.stdin.buffer


def answer(doc):
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


answer({"ready": True})


def child(req):
    os.setsid()
    for fd, path, flags in ((0, os.devnull, os.O_RDONLY), (1, req["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                            (2, req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
        opened = os.open(path, flags, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    if req["limit_as"]:
        resource.setrlimit(resource.RLIMIT_AS, (req["limit_as"], req["limit_as"]))
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    sys.argv = [MAIN, *req["args"]]
    sys.path[0] = os.getcwd()
    runpy.run_module("devops_mlops", run_name="__main__", alter_sys=True)
    sys.exit(0)


while True:
    line = requests.readline()
    if not line:
        break
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        child(req)  # never returns: the run ends as the interpreter exits
    answer({"pid": pid})
    _, status, usage = os.wait4(pid, 0)
    answer({"pid": pid, "code": os.waitstatus_to_exitcode(status), "maxrss_kb": usage.ru_maxrss})
"""

#: seconds the server may take to import what it preloads
PRELOAD_TIMEOUT = 600
#: environment variables the server does not need to import anything (each run gets its caller's)
_PRIVATE = ("DATABRICKS_", "ARM_", "AZURE_", "SYSTEM_", "BUILD_", "TF_BUILD", "MLFLOW_", "MLOPS_")


@dataclass
class Run:
    """What one forked `mlops` run did."""

    args: list[str]
    #: the exit code; negative: the signal that ended the process (-9: SIGKILL)
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    #: peak resident memory of the process (and of the children it waited for), in MB
    peak_rss_mb: float


class WarmCli:
    """A server process that forks one `mlops` run per :meth:`run` (see the module docstring)."""

    def __init__(self, preload: Sequence[str] = ()):
        self._folder = Path(tempfile.mkdtemp(prefix="mlops-warm-cli-"))
        self._lock = threading.Lock()
        self._buffer = b""
        self._ready = False
        # the server's own environment only matters while it imports: no credentials, a home of its own
        env = {k: v for k, v in os.environ.items() if not k.startswith(_PRIVATE)}
        (self._folder / "home").mkdir()
        env["HOME"] = str(self._folder / "home")
        self._proc = subprocess.Popen([sys.executable, "-c", _SERVER, *preload], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, env=env)

    def __enter__(self) -> WarmCli:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the server (after the run in progress, if any) and remove its files."""
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        shutil.rmtree(self._folder, ignore_errors=True)

    def run(self, args: Sequence[str], *, cwd: str | os.PathLike[str], env: Mapping[str, str] | None = None,
            timeout: float = 120, limit_as: int | None = None) -> Run:
        """`mlops ARGS` in ``cwd`` with exactly ``env`` (default: this process's environment);
        ``limit_as`` caps its address space (bytes). Past ``timeout`` seconds its whole session is
        killed and :class:`subprocess.TimeoutExpired` raised."""
        with self._lock:
            out, err = self._folder / "stdout", self._folder / "stderr"
            request = {"args": list(args), "cwd": str(cwd), "env": dict(os.environ if env is None else env),
                       "stdout": str(out), "stderr": str(err), "limit_as": limit_as}
            if not self._ready:  # the preloading (seconds, minutes on a very busy machine)
                self._ready = self._reply(timeout=PRELOAD_TIMEOUT)["ready"]
            start = time.monotonic()
            self._send(request)
            pid = self._reply(timeout=60)["pid"]
            try:
                done = self._reply(timeout=max(0.0, timeout - (time.monotonic() - start)))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                self._reply(timeout=60)
                raise subprocess.TimeoutExpired(["mlops", *args], timeout) from None
            seconds = time.monotonic() - start
            return Run(list(args), done["code"], out.read_bytes().decode(errors="replace"),
                       err.read_bytes().decode(errors="replace"), seconds, done["maxrss_kb"] / 1024)

    def _send(self, request: dict) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(request).encode() + b"\n")
            self._proc.stdin.flush()
        except BrokenPipeError:
            raise RuntimeError(f"the warm CLI server is gone (exit {self._proc.wait()})") from None

    def _reply(self, timeout: float) -> dict:
        """The server's next line, read straight from the pipe (no buffer can hide a line from select)."""
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise subprocess.TimeoutExpired("warm CLI server", timeout)
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"the warm CLI server is gone (exit {self._proc.wait()})")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)
