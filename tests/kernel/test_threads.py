"""Small predictions run on one OpenMP/BLAS thread; large ones keep the process's threads."""

from __future__ import annotations

import sklearn.ensemble  # noqa: F401 - loads scikit-learn's OpenMP runtime
from threadpoolctl import threadpool_info

from devops_mlops.kernel.threads import SMALL_ROWS, threads_for


def _threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info()]


def test_a_small_frame_is_predicted_on_one_thread_a_large_one_on_all():
    before = _threads()
    assert before, "no OpenMP/BLAS runtime loaded"
    with threads_for(420):
        assert set(_threads()) == {1}
    assert _threads() == before
    with threads_for(SMALL_ROWS):
        assert _threads() == before
