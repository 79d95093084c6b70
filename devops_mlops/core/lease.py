"""Leases for the target lock, as plain logic (no I/O).

A lock is a folder of numbered lease records (``1``, ``2``, ...). The record with the highest
number decides: the lock is held when that record is neither released, nor expired, nor left
by a process that is gone from this machine. To take the lock, a process creates the record
numbered one higher, exclusively (create-if-absent); of two processes that race, exactly one
creates it, the other sees it and backs off. Nothing is ever overwritten by another process,
so taking over a stale lock needs no compare-and-swap. Only the holder rewrites its own record
(to renew it, or to mark it released).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime


@dataclass(frozen=True)
class Lease:
    seq: int
    token: str
    command: str
    host: str
    pid: int
    #: identifies the machine's boot, so a pid is only judged on the machine it belongs to
    boot_id: str = ""
    #: the process's start time (clock ticks since boot), so a reused pid is not mistaken for the holder
    pid_start: str = ""
    since: float = 0.0
    expires: float = 0.0
    released: bool = False

    def encode(self) -> bytes:
        return json.dumps({"lease": 1, **asdict(self)}, sort_keys=True).encode()

    def renewed(self, now: float, ttl: float) -> "Lease":
        return replace(self, expires=now + ttl)

    def release(self) -> "Lease":
        return replace(self, released=True)

    def describe(self) -> str:
        return (
            f"{self.command} (pid {self.pid} on {self.host}, since {_iso(self.since)}, "
            f"lease until {_iso(self.expires)})"
        )


def decode(seq: int, data: bytes | None) -> Lease | None:
    """The lease in ``data``, or None when it is missing or not a lease record."""
    if not data:
        return None
    try:
        doc = json.loads(data)
        return Lease(
            seq=seq,
            token=str(doc["token"]),
            command=str(doc.get("command", "?")),
            host=str(doc.get("host", "?")),
            pid=int(doc.get("pid", 0)),
            boot_id=str(doc.get("boot_id", "")),
            pid_start=str(doc.get("pid_start", "")),
            since=float(doc.get("since", 0)),
            expires=float(doc.get("expires", 0)),
            released=bool(doc.get("released", False)),
        )
    except (ValueError, KeyError, TypeError):
        return None


def free_reason(lease: Lease | None, *, now: float, boot_id: str, pid_start: str | None) -> str | None:
    """Why the lock is free (a reason to print), or None when ``lease`` holds it.

    ``pid_start``: the start time of the lease's pid on this machine now (None: no such process),
    only consulted when the lease was taken on this machine (same ``boot_id``).
    """
    if lease is None:
        return "no lease"
    if lease.released:
        return "released"
    if lease.expires <= now:
        return f"the lease of {lease.command} (pid {lease.pid} on {lease.host}) expired at {_iso(lease.expires)}"
    if boot_id and lease.boot_id == boot_id and (
        pid_start is None or (lease.pid_start and pid_start and pid_start != lease.pid_start)
    ):
        return f"{lease.command} (pid {lease.pid} on {lease.host}) is gone"
    return None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
