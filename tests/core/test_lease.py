"""Lease records and when a lease is free."""

from devops_mlops.core.lease import Lease, decode, free_reason

import pytest

pytestmark = pytest.mark.fast

NOW = 1_800_000_000.0


def lease(**kw):
    base = dict(seq=3, token="t", command="mlops monitor", host="agent-1", pid=4242, boot_id="boot-a",
                pid_start="777", since=NOW - 60, expires=NOW + 60)
    return Lease(**{**base, **kw})


def test_round_trip_and_garbage():
    held = lease()
    assert decode(3, held.encode()) == held
    assert decode(3, b"") is None and decode(3, b"not json") is None and decode(3, b'{"x": 1}') is None


def test_held_while_renewed_and_the_process_lives():
    assert free_reason(lease(), now=NOW, boot_id="boot-a", pid_start="777") is None
    # on another machine the pid says nothing: held until it expires
    assert free_reason(lease(), now=NOW, boot_id="boot-b", pid_start=None) is None
    # the start time could not be read (not Linux): a live pid is the holder
    assert free_reason(lease(), now=NOW, boot_id="boot-a", pid_start="") is None


def test_free_when_released_expired_gone_or_reused():
    assert free_reason(None, now=NOW, boot_id="boot-a", pid_start=None) == "no lease"
    assert free_reason(lease().release(), now=NOW, boot_id="boot-a", pid_start="777") == "released"
    assert "expired" in free_reason(lease(expires=NOW - 1), now=NOW, boot_id="boot-b", pid_start=None)
    assert "is gone" in free_reason(lease(), now=NOW, boot_id="boot-a", pid_start=None)
    assert "is gone" in free_reason(lease(), now=NOW, boot_id="boot-a", pid_start="999")  # pid reused


def test_describe_names_the_holder():
    text = lease().describe()
    assert "mlops monitor" in text and "pid 4242" in text and "agent-1" in text and "since 2027-" in text
    assert lease().renewed(NOW + 100, 60).expires == NOW + 160
