"""The one file lock of the toolkit: an exclusive ``flock(2)`` on a lock file.

It serialises, among the processes of one machine, the promotions of a model's slot, the
writes of a local table and the updates of a job's shared task values. The lock is released
when the block ends, and by the system when the process dies, so a killed holder never leaves
it taken.

Standard library only: the kernel shim loads this file by its path inside kernels whose
interpreter does not have the toolkit installed (see devops_mlops/kernel/runner.py).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created with its folders) for the block."""
    import fcntl

    lock = Path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
