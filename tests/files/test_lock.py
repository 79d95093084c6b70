"""The one file lock: exclusive between holders, released when the block ends (even by an error)."""

from __future__ import annotations

import threading

import pytest

from devops_mlops.files.lock import file_lock

pytestmark = pytest.mark.fast


def test_a_second_holder_waits_until_the_first_is_done(tmp_path):
    path = tmp_path / "state" / ".promote-m-production.lock"
    order: list[str] = []
    entered = threading.Event()

    def second() -> None:
        with file_lock(path):
            order.append("second")
            entered.set()

    with file_lock(path):
        assert path.is_file()  # created with its folder
        waiter = threading.Thread(target=second)
        waiter.start()
        assert not entered.wait(0.3)  # blocked while the first holds it
        order.append("first done")
    waiter.join(5)
    assert order == ["first done", "second"]


def test_an_error_in_the_block_releases_the_lock(tmp_path):
    path = tmp_path / ".t.lock"
    with pytest.raises(RuntimeError):
        with file_lock(path):
            raise RuntimeError("boom")
    taken = threading.Event()

    def take() -> None:
        with file_lock(path):
            taken.set()

    other = threading.Thread(target=take)
    other.start()
    assert taken.wait(5)
    other.join(5)
