"""How many OpenMP/BLAS threads a prediction of the toolkit gets.

scikit-learn's tree ensembles predict with OpenMP threads, one per core. On a small frame (a
monitoring window, an evaluation batch) the threads' start and their spinning at each barrier cost
far more than they save, and on a shared agent whose other core is busy a 400-row prediction
goes from 0.05 s to over a second. Below :data:`SMALL_ROWS` rows the toolkit predicts on one
thread; larger frames (batch inference of a big batch) keep every core.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

#: frames with fewer rows are predicted on one thread
SMALL_ROWS = 50_000


@contextlib.contextmanager
def threads_for(rows: int) -> Iterator[None]:
    """One OpenMP/BLAS thread while predicting fewer than :data:`SMALL_ROWS` rows; else no limit."""
    if rows >= SMALL_ROWS:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn depends on threadpoolctl
        yield
        return
    with threadpool_limits(1):
        yield
