"""The target lock: one command at a time writes a target's tables and runs its retrain loop.

``with exclusive(ctx, "mlops monitor"):`` takes the lock of ``ctx.target`` (or waits for it, at
most ``targets.<name>.lock.wait`` seconds) and gives it back at the end. A second command
meanwhile waits or stops with ConflictError naming the holder (command, pid, host, since).

Where the leases live (see :mod:`devops_mlops.core.lease` for the protocol):

* ``backend: local``: files under ``.mlops/locks/<name>/``, each created exclusively
  (written to a temporary file, then hard-linked to its number: ``link`` fails when the
  number exists, and a reader never sees a half-written record);
* ``backend: databricks``: workspace files under ``lock.path`` (default: the folder
  ``.mlops-locks/<name of workspace_dir or repo_path>`` next to it), created with
  ``overwrite: false``, so machines that share the workspace share the lock.

The holder renews its lease every ``ttl / 3`` seconds from a background thread. A lease
whose holder was killed is free at once on the same machine (its pid is gone, or was reused by
another process), and once expired (``ttl`` seconds after the last renewal) everywhere.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from ..core.lease import Lease, decode, free_reason
from ..errors import ConflictError, MlopsError

LOCK_NAME = "tables"
_local = threading.local()  # .held: the locks this thread holds (a nested `exclusive` is a no-op)


def _held() -> set[str]:
    held = getattr(_local, "held", None)
    if held is None:
        held = _local.held = set()
    return held


# ------------------------------------------------------------------ this machine
def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return socket.gethostname()


def pid_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), '' when unknown; None: no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return ""
    return ""


# ------------------------------------------------------------------ stores
class FileStore:
    """Lease records as files in a local folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.where = str(folder)

    def list(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        return [int(p.name) for p in self.folder.iterdir() if p.name.isdigit()]

    def read(self, seq: int) -> bytes | None:
        try:
            return (self.folder / str(seq)).read_bytes()
        except FileNotFoundError:
            return None

    def create(self, seq: int, data: bytes) -> bool:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.link(tmp, self.folder / str(seq))
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)

    def write(self, seq: int, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, self.folder / str(seq))

    def delete(self, seq: int) -> None:
        (self.folder / str(seq)).unlink(missing_ok=True)


class WorkspaceStore:
    """Lease records as workspace files (shared by every machine that talks to the workspace)."""

    def __init__(self, workspace, folder: str):
        self.ws, self.folder = workspace, folder.rstrip("/")
        self.where = self.folder

    def _path(self, seq: int) -> str:
        return f"{self.folder}/{seq}"

    def list(self) -> list[int]:
        names = (posixpath.basename(o.path) for o in self.ws.list(self.folder))
        return [int(n) for n in names if n.isdigit()]

    def read(self, seq: int) -> bytes | None:
        try:
            return self.ws.export(self._path(seq), format="RAW")
        except MlopsError:
            if self.ws.get_status(self._path(seq)) is None:
                return None
            raise

    def create(self, seq: int, data: bytes) -> bool:
        self.ws.mkdirs(self.folder)
        try:
            self.ws.import_(self._path(seq), data, format="RAW", language=None, overwrite=False)
            return True
        except ConflictError:
            return False
        except MlopsError:  # the answer may be lost after the file was made: look
            if self.read(seq) == data:
                return True
            raise

    def write(self, seq: int, data: bytes) -> None:
        self.ws.import_(self._path(seq), data, format="RAW", language=None, overwrite=True)

    def delete(self, seq: int) -> None:
        self.ws.delete(self._path(seq))


def store_for(ctx, name: str = LOCK_NAME):
    target = ctx.target
    if target.backend != "databricks":
        return FileStore(ctx.state_dir / "locks" / name)
    folder = target.lock.path
    if not folder:
        root = (target.workspace_dir or target.repo_path or "/").rstrip("/") or "/"
        folder = posixpath.join(posixpath.dirname(root), ".mlops-locks", posixpath.basename(root) or "root")
    return WorkspaceStore(ctx.workspace, posixpath.join(folder, name))


# ------------------------------------------------------------------ the lock
class Lock:
    def __init__(self, store, command: str, *, ttl: float, poll: float = 0.5, console=None):
        self.store, self.command, self.ttl, self.poll, self.console = store, command, float(ttl), poll, console
        self.lease: Lease | None = None
        self.took_over: str | None = None  # why the previous holder's lease was free
        self.lost = False
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def acquire(self, wait: float = 0.0) -> "Lock":
        deadline = time.monotonic() + max(0.0, float(wait))
        me = socket.gethostname(), os.getpid(), boot_id()
        while True:
            seqs = self.store.list()
            top = max(seqs, default=0)
            current = decode(top, self.store.read(top)) if top else None
            started = pid_start(current.pid) if current is not None and current.boot_id == me[2] else ""
            reason = free_reason(current, now=time.time(), boot_id=me[2], pid_start=started)
            if reason is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ConflictError(
                        f"the target is locked by {current.describe()} ({self.store.where})",
                        hint="wait for it to end, or set lock.wait in the target to wait up to N seconds; "
                        "the lock of a killed run is taken over once its process is gone or its lease expires",
                    )
                time.sleep(min(self.poll, left))
                continue
            now = time.time()
            mine = Lease(top + 1, uuid.uuid4().hex, self.command, me[0], me[1], me[2], pid_start(me[1]) or "",
                         now, now + self.ttl)
            if not self.store.create(mine.seq, mine.encode()):
                continue  # another process made that record first: look again
            self.lease = mine
            if current is not None and not current.released:
                self.took_over = reason
            for old in seqs:
                if old < top:
                    with contextlib.suppress(MlopsError, OSError):
                        self.store.delete(old)
            self._beat = threading.Thread(target=self._heartbeat, name="mlops-lock", daemon=True)
            self._beat.start()
            return self

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                if max(self.store.list(), default=0) != self.lease.seq:
                    self.lost = True
                    if self.console is not None:
                        self.console.warn(f"lost the lock {self.store.where}: another run took it over")
                    return
                self.lease = self.lease.renewed(time.time(), self.ttl)
                self.store.write(self.lease.seq, self.lease.encode())
            except (MlopsError, OSError):
                continue  # try again at the next beat; the lease lasts ttl

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        if self.lease is None or self.lost:
            return
        with contextlib.suppress(MlopsError, OSError):
            self.store.write(self.lease.seq, self.lease.release().encode())
        self.lease = None


@contextlib.contextmanager
def exclusive(ctx, command: str, name: str = LOCK_NAME) -> Iterator[Lock | None]:
    """Hold the target's lock while the block runs (not in a dry run, nor when already held)."""
    key = f"{ctx.target.name}/{name}"
    held = _held()  # per thread: another thread of this process waits for the lock like another process
    if ctx.dry_run or key in held:
        yield None
        return
    cfg = ctx.target.lock
    lock = Lock(store_for(ctx, name), command, ttl=cfg.ttl, console=ctx.console).acquire(cfg.wait)
    if lock.took_over:
        ctx.console.progress(f"took over the lock {lock.store.where}: {lock.took_over}")
    held.add(key)
    try:
        yield lock
    finally:
        held.discard(key)
        lock.release()
