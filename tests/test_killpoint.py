"""The kill-point seam: SIGKILL for real at the named point and count, nothing otherwise."""

import os
import signal
import subprocess
import sys

SCRIPT = """
from devops_mlops import killpoint
for i in range(1, 4):
    killpoint.reached("other")
    killpoint.reached("step")
    print(i, flush=True)
"""


def run(kill_at=None):
    env = {k: v for k, v in os.environ.items() if k != "MLOPS_TEST_KILL_AT"}
    if kill_at is not None:
        env["MLOPS_TEST_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)


def test_kills_at_the_nth_time_the_point_is_reached():
    done = run("step:2")
    assert done.returncode == -signal.SIGKILL and done.stdout.split() == ["1"]
    first = run("step")
    assert first.returncode == -signal.SIGKILL and first.stdout == ""


def test_does_nothing_unless_asked():
    for spec in (None, "", "elsewhere", "step:9"):
        done = run(spec)
        assert done.returncode == 0 and done.stdout.split() == ["1", "2", "3"], spec
