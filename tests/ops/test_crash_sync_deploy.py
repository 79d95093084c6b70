"""`mlops sync` and `mlops deploy` killed with SIGKILL at named points, then run again, converge.

Each scenario runs the real CLI in a subprocess against the Databricks emulator (through the real
SDK) with ``MLOPS_TEST_KILL_AT`` set, checks the process really died of SIGKILL, runs the same
command again, and compares the target with the one an uninterrupted run leaves on a second
emulator: the same files with the same content, the same manifest entries, one job per key with
the same settings.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from devops_mlops.testing.databricks_emulator import DatabricksEmulator, sample_project
from devops_mlops.testing.http import Faults

TOKEN = "dapi-crash"
MANIFEST = "/Shared/demo/.mlops-sync.json"


def mlops(root: Path, *args: str, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABRICKS_TOKEN": TOKEN}
    env.pop("MLOPS_TEST_KILL_AT", None)
    if kill_at:
        env["MLOPS_TEST_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-m", "devops_mlops", "--target", "dev", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def pair(tmp_path):
    """Two emulators and two copies of one project: one run is killed, the other is the reference."""
    with DatabricksEmulator(token=TOKEN) as killed, DatabricksEmulator(token=TOKEN) as clean:
        roots = []
        for name, emu in (("killed", killed), ("clean", clean)):
            root = tmp_path / name
            root.mkdir()
            sample_project(root, host=emu.url, notebooks=8, folders=3, jobs=6)
            roots.append(root)
        yield (killed, roots[0]), (clean, roots[1])


def change_repo(root: Path) -> None:
    """Edit two notebooks, delete one, rename a job: the second deploy/sync has updates and deletes."""
    nbs = sorted((root / "notebooks").rglob("*.py"))
    for nb in nbs[:2]:
        nb.write_text(nb.read_text() + "print('changed')\n")
    nbs[-1].unlink()
    jobs = root / "resources" / "jobs.yml"
    jobs.write_text(jobs.read_text().replace("demo-job1-", "demo-renamed1-").replace("demo-job4-", "demo-renamed4-"))


def manifest(emu) -> dict:
    doc = json.loads(emu.files[MANIFEST])
    return {path: entry["sha256"] for path, entry in doc["objects"].items()}


def workspace_state(emu) -> tuple[dict, dict]:
    """Files (the emulator's own URL, in the synced mlops.yaml, made neutral) and manifest paths."""
    host = emu.url.encode()
    return {p: c.replace(host, b"HOST") for p, c in emu.files.items() if p != MANIFEST}, sorted(manifest(emu))


def jobs_state(emu) -> dict[str, dict]:
    """mlops job key -> the job's settings; asserts there is exactly one job per key."""
    by_key: dict[str, list[int]] = {}
    with emu.lock:
        for jid, settings in emu.jobs.items():
            by_key.setdefault((settings.get("tags") or {}).get("mlops_job_key"), []).append(jid)
        assert all(len(ids) == 1 for ids in by_key.values()), f"duplicate jobs: {by_key}"
        return {key: emu.jobs[ids[0]] for key, ids in by_key.items()}


def killed_then_rerun(root: Path, args: list[str], point: str) -> subprocess.CompletedProcess:
    died = mlops(root, *args, kill_at=point)
    assert died.returncode == -signal.SIGKILL, f"{point} was not reached: {died.returncode} {died.stderr}"
    again = mlops(root, *args)
    assert again.returncode == 0, again.stdout + again.stderr
    return again


SYNC_POINTS = ["sync.mkdirs", "sync.upload:1", "sync.upload:5", "sync.manifest"]


@pytest.mark.parametrize("point", SYNC_POINTS)
def test_first_sync_killed_converges(pair, point):
    (killed, root), (clean, ref) = pair
    assert mlops(ref, "sync").returncode == 0
    again = killed_then_rerun(root, ["sync"], point)
    assert "conflict" not in again.stdout
    assert workspace_state(killed) == workspace_state(clean)
    assert mlops(root, "--format", "json", "sync").stdout.count('"op"') == 0  # nothing left to do


@pytest.mark.parametrize("point", ["sync.upload:1", "sync.delete:1", "sync.manifest"])
def test_update_and_prune_killed_converges(pair, point):
    (killed, root), (clean, ref) = pair
    for r in (root, ref):
        assert mlops(r, "sync").returncode == 0
        change_repo(r)
    assert mlops(ref, "sync", "--prune").returncode == 0
    again = killed_then_rerun(root, ["sync", "--prune"], point)
    assert "conflict" not in again.stdout, again.stdout
    assert workspace_state(killed) == workspace_state(clean)
    files = killed.files
    assert all(f"/Shared/demo/{rel}" in files for rel in manifest(killed))  # the deleted notebook's entry is gone


def deploy_both(root: Path, ref: Path, point: str, *, update: bool) -> None:
    if update:
        for r in (root, ref):
            assert mlops(r, "deploy").returncode == 0
            change_repo(r)
    assert mlops(ref, "deploy").returncode == 0
    killed_then_rerun(root, ["deploy"], point)


@pytest.mark.parametrize("point", ["deploy.create:1", "deploy.create:4", "deploy.created"])
def test_first_deploy_killed_leaves_no_duplicate(pair, point):
    (killed, root), (clean, ref) = pair
    deploy_both(root, ref, point, update=False)
    assert jobs_state(killed) == jobs_state(clean) and len(jobs_state(killed)) == 6


@pytest.mark.parametrize("point", ["deploy.apply:1", "deploy.apply:2"])
def test_update_deploy_killed_converges(pair, point):
    (killed, root), (clean, ref) = pair
    deploy_both(root, ref, point, update=True)
    state = jobs_state(killed)
    assert state == jobs_state(clean)
    assert sorted(s["name"] for s in state.values())[-2:] == ["demo-renamed1-dev", "demo-renamed4-dev"]


def test_a_killed_deploy_then_a_create_whose_answer_was_lost(pair):
    """The kill leaves jobs behind; the re-run loses the answer of a create: still one job per key."""
    (killed, root), (clean, ref) = pair
    assert mlops(ref, "deploy").returncode == 0
    died = mlops(root, "deploy", kill_at="deploy.create:2")
    assert died.returncode == -signal.SIGKILL
    killed.faults = Faults(script=["lost"], path_pattern="jobs/create")
    assert mlops(root, "deploy").returncode == 0
    assert jobs_state(killed) == jobs_state(clean)


def test_kill_point_names_are_the_documented_ones():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md").read_text()
    for point in SYNC_POINTS + ["sync.delete", "deploy.create", "deploy.created", "deploy.apply"]:
        assert f"`{point.split(':')[0]}`" in doc, point
