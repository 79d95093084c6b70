"""The target lock: exclusive, names its holder, waits when asked, takes over stale leases safely.

Real processes race for it (local files, and workspace files on the Databricks emulator through
the real SDK); the CLI refuses a second `mlops monitor` / `mlops infer` while one runs. The racers
are told to go once every one of them is set up, and a winner holds the lock until the test has
seen every answer (no start-up guessed in seconds); the `mlops` processes are forked from a warm
launcher (devops_mlops/testing/warm_cli.py).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from devops_mlops.context import Context
from devops_mlops.core.lease import Lease, decode
from devops_mlops.errors import ConflictError
from devops_mlops.ops.lock import FileStore, Lock, boot_id, exclusive, pid_start, store_for
from devops_mlops.testing.databricks_emulator import DatabricksEmulator, sample_project
from devops_mlops.testing.warm_cli import WarmCli

TOKEN = "dapi-lock"
#: argv: config target. Prints "ready" once set up, reads the start time from stdin and spins until
#: then, tries the lock once; a winner holds it until its stdin closes.
RACER = """
import os, sys, time
from devops_mlops.context import Context
from devops_mlops.errors import ConflictError
from devops_mlops.ops.lock import Lock, store_for
ctx = Context.create(config_path=sys.argv[1], target=sys.argv[2])
store = store_for(ctx)
print("ready", flush=True)
start = float(sys.stdin.readline())
while time.time() < start:
    pass
try:
    lock = Lock(store, f"racer {os.getpid()}", ttl=30).acquire(0)
except ConflictError as exc:
    print("busy", exc.one_line(), flush=True)
    sys.exit(0)
print("got", lock.lease.seq, lock.took_over, flush=True)
sys.stdin.read()
lock.release()
"""


def racer(config: Path, target: str, env: dict | None = None) -> subprocess.Popen:
    """A racer process (see RACER); :func:`ready` waits until it is set up."""
    return subprocess.Popen([sys.executable, "-c", RACER, str(config), target], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def ready(proc: subprocess.Popen) -> subprocess.Popen:
    line = proc.stdout.readline()
    assert line == "ready\n", line + proc.communicate(timeout=60)[1][-800:]
    return proc


def holder(config: Path) -> subprocess.Popen:
    """A process holding the lock of the target ``local`` until its stdin is closed."""
    proc = ready(racer(config, "local"))
    proc.stdin.write("0\n")
    proc.stdin.flush()
    assert proc.stdout.readline().startswith("got")
    return proc


def local_project(tmp_path: Path, lock: str = "") -> Path:
    (tmp_path / "mlops.yaml").write_text(f"project: p\nmodel: {{name: m}}\ntargets:\n  local: {{{lock}}}\n")
    return tmp_path / "mlops.yaml"


def dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def stale_lease(seq: int = 1, **kw) -> bytes:
    now = time.time()
    fields = dict(seq=seq, token="old", command="mlops monitor", host=socket.gethostname(), pid=dead_pid(),
                  boot_id=boot_id(), pid_start="1", since=now - 600, expires=now + 600)
    return Lease(**{**fields, **kw}).encode()


def race(config: Path, target: str, racers: int, env: dict | None = None) -> list[str]:
    """What each of ``racers`` processes got when they all tried the lock at the same moment."""
    procs = [ready(p) for p in [racer(config, target, env) for _ in range(racers)]]
    start = time.time() + 0.2  # every racer is spinning when the clock says go
    for p in procs:
        p.stdin.write(f"{start}\n")
        p.stdin.flush()
    answers = [p.stdout.readline().strip() for p in procs]  # the winner holds the lock meanwhile
    outs = [p.communicate(timeout=120) for p in procs]  # closes stdin: the winner releases
    assert all(p.returncode == 0 for p in procs), [o[1][-800:] for o in outs]
    return answers


def test_second_holder_is_refused_with_the_holders_name(tmp_path):
    ctx = Context.create(config_path=local_project(tmp_path))
    with exclusive(ctx, "mlops monitor") as held:
        assert held.lease.pid == os.getpid()
        with pytest.raises(ConflictError) as err:
            Lock(store_for(ctx), "mlops infer", ttl=30).acquire(0)
        text = err.value.one_line()
        assert f"mlops monitor (pid {os.getpid()} on {socket.gethostname()}, since 20" in text
        assert ".mlops/locks/tables" in text and "lock.wait" in text
        with exclusive(ctx, "mlops monitor") as nested:  # the same process: no second lease
            assert nested is None
    again = Lock(store_for(ctx), "mlops infer", ttl=30).acquire(0)  # released at the end of the block
    assert again.took_over is None
    again.release()


def test_waits_for_the_holder_when_asked(tmp_path):
    ctx = Context.create(config_path=local_project(tmp_path))
    first = Lock(store_for(ctx), "mlops monitor", ttl=30).acquire(0)
    started = time.monotonic()
    threading.Timer(0.5, first.release).start()
    second = Lock(store_for(ctx), "mlops infer", ttl=30, poll=0.1).acquire(wait=20)
    assert 0.5 <= time.monotonic() - started < 10 and second.took_over is None
    second.release()
    with pytest.raises(ConflictError):  # bounded: gives up after `wait`
        held = Lock(store_for(ctx), "a", ttl=30).acquire(0)
        try:
            Lock(store_for(ctx), "b", ttl=30, poll=0.1).acquire(wait=0.3)
        finally:
            held.release()


def test_renewal_keeps_a_short_lease_alive(tmp_path):
    ctx = Context.create(config_path=local_project(tmp_path))
    store = store_for(ctx)
    held = Lock(store, "mlops monitor", ttl=2).acquire(0)
    first = decode(1, store.read(1)).expires
    time.sleep(2.5)  # longer than the ttl: the heartbeat (every ttl / 3) renewed it
    assert decode(1, store.read(1)).expires > max(first, time.time())
    held.release()
    assert decode(1, store.read(1)).released


def test_a_killed_holder_is_taken_over_at_once_on_this_machine(tmp_path):
    ctx = Context.create(config_path=local_project(tmp_path))
    store = FileStore(ctx.state_dir / "locks" / "tables")
    assert store.create(1, stale_lease())
    lock = Lock(store, "mlops monitor", ttl=30).acquire(0)
    assert lock.lease.seq == 2 and "is gone" in lock.took_over
    lock.release()
    assert pid_start(os.getpid()) and pid_start(dead_pid()) is None


def test_another_machines_lease_is_honoured_until_it_expires(tmp_path):
    ctx = Context.create(config_path=local_project(tmp_path))
    store = FileStore(ctx.state_dir / "locks" / "tables")
    store.create(1, stale_lease(boot_id="another-machine", host="agent-9"))
    with pytest.raises(ConflictError, match="agent-9"):
        Lock(store, "mlops monitor", ttl=30).acquire(0)
    store.create(2, stale_lease(seq=2, boot_id="another-machine", expires=time.time() - 1))
    lock = Lock(store, "mlops monitor", ttl=30).acquire(0)
    assert lock.lease.seq == 3 and "expired" in lock.took_over
    assert sorted(store.list()) == [2, 3]  # older records are cleared
    lock.release()


@pytest.mark.parametrize("round_", range(3))
def test_processes_racing_to_take_over_a_stale_lock_one_wins(tmp_path, round_):
    config = local_project(tmp_path)
    FileStore(tmp_path / ".mlops" / "locks" / "tables").create(1, stale_lease())
    outs = race(config, "local", racers=4)
    winners = [o for o in outs if o.startswith("got")]
    assert len(winners) == 1, outs
    assert winners[0].startswith("got 2 ") and "is gone" in winners[0]
    assert all(o.startswith("busy") and "racer" in o for o in outs if o not in winners)


def test_databricks_lease_is_shared_through_the_workspace(tmp_path):
    with DatabricksEmulator(token=TOKEN) as emu:
        config = sample_project(tmp_path, host=emu.url)
        env = {"DATABRICKS_TOKEN": TOKEN}
        os.environ.update(env)
        try:
            ctx = Context.create(config_path=config, target="dev")
            store = store_for(ctx)
            assert store.where == "/Shared/.mlops-locks/demo/tables"
            store.create(1, stale_lease(boot_id="another-machine", expires=time.time() - 1))
            outs = race(config, "dev", racers=3, env=env)
            winners = [o for o in outs if o.startswith("got")]
            assert len(winners) == 1 and "expired" in winners[0], outs
            assert sorted(p for p in emu.files if p.startswith("/Shared/.mlops-locks/")) == [
                "/Shared/.mlops-locks/demo/tables/1", "/Shared/.mlops-locks/demo/tables/2"]
            held = Lock(store, "mlops monitor", ttl=30).acquire(0)  # the winner released its lease
            with pytest.raises(ConflictError, match="mlops monitor"):
                Lock(store_for(Context.create(config_path=config, target="dev")), "x", ttl=30).acquire(0)
            held.release()
        finally:
            os.environ.pop("DATABRICKS_TOKEN", None)


@pytest.fixture(scope="module")
def cli():
    with WarmCli(preload=["devops_mlops.cli.app", "devops_mlops.context", "devops_mlops.cli.infer",
                          "devops_mlops.cli.monitor", "devops_mlops.cli.lifecycle", "mlflow"]) as launcher:
        yield launcher


def test_cli_refuses_or_waits_while_another_run_holds_the_target(tmp_path, cli):
    config = local_project(tmp_path)
    held = holder(config)
    for command in ("monitor", "infer", "lifecycle"):
        res = cli.run([command], cwd=tmp_path)
        assert res.returncode == 1, res.stderr
        assert f"locked by racer {held.pid} (pid {held.pid}" in res.stderr, res.stderr
        assert "Traceback" not in res.stderr
    assert not (tmp_path / ".mlops" / "tables").exists()  # nothing written
    local_project(tmp_path, lock="lock: {wait: 60}")
    started = time.monotonic()
    threading.Timer(2, held.stdin.close).start()  # the holder ends 2 s from now
    res = cli.run(["infer"], cwd=tmp_path)  # waits for the holder, then runs (and finds no model)
    assert time.monotonic() - started > 2 and "locked by" not in res.stderr, res.stderr
    assert res.returncode == 2 and "model m" in res.stderr, res.stderr
    held.wait(timeout=30)


def test_a_killed_cli_run_does_not_block_the_next(tmp_path, cli):
    config = local_project(tmp_path)
    held = holder(config)
    held.kill()
    held.wait()
    res = cli.run(["-v", "infer"], cwd=tmp_path)
    assert "locked by" not in res.stderr and "took over the lock" in res.stderr and "is gone" in res.stderr, res.stderr
