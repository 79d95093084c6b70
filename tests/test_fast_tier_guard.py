"""The fast tier's guard (tests/conftest.py) holds: a fast test cannot start a process or use a
socket, so a test that needs one cannot stay in the fast tier by mistake."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.conftest import FastTierViolation


@pytest.mark.fast
def test_a_fast_test_cannot_start_a_process():
    with pytest.raises(FastTierViolation, match="started a process"):
        subprocess.run([sys.executable, "-c", "pass"], check=False)


@pytest.mark.fast
def test_a_fast_test_cannot_bind_or_connect_a_socket():
    with socket.socket() as sock:
        with pytest.raises(FastTierViolation, match="bound a socket"):
            sock.bind(("127.0.0.1", 0))
        with pytest.raises(FastTierViolation, match="opened a connection"):
            sock.connect(("127.0.0.1", 9))


def test_a_test_of_the_full_tier_may_start_a_process():
    assert subprocess.run([sys.executable, "-c", "pass"], check=False).returncode == 0
