"""`mlops sync` and `mlops deploy` killed with SIGKILL at named points, then run again, converge.

Each scenario runs the real CLI in processes of its own against the Databricks emulator (through
the real SDK) with ``MLOPS_TEST_KILL_AT`` set, checks the process really died of SIGKILL, runs the
same command again, and compares the target with the one uninterrupted runs leave on a reference
emulator: the same files with the same content, the same manifest entries, one job per key with
the same settings. The reference of each flow is made once for the module (it does not depend on
the kill point), and the processes are forked from a warm launcher that has imported the CLI and
the SDK already (devops_mlops/testing/warm_cli.py).
"""

from __future__ import annotations

import copy
import functools
import json
import os
import signal
from pathlib import Path

import pytest

from devops_mlops.testing.databricks_emulator import DatabricksEmulator, sample_project
from devops_mlops.testing.http import Faults
from devops_mlops.testing.warm_cli import Run, WarmCli

TOKEN = "dapi-crash"
MANIFEST = "/Shared/demo/.mlops-sync.json"
PROJECT = {"notebooks": 8, "folders": 3, "jobs": 6}


@pytest.fixture(scope="module")
def cli():
    with WarmCli(preload=["devops_mlops.cli.app", "devops_mlops.context", "devops_mlops.cli.sync",
                          "devops_mlops.cli.deploy", "devops_mlops.adapters.databricks.workspace",
                          "databricks.sdk"]) as launcher:
        yield launcher


def run_mlops(cli: WarmCli, root: Path, *args: str, kill_at: str | None = None) -> Run:
    """`mlops --target dev ARGS` in ``root``, killed at ``kill_at`` when given."""
    env = {**os.environ, "DATABRICKS_TOKEN": TOKEN}
    env.pop("MLOPS_TEST_KILL_AT", None)
    if kill_at:
        env["MLOPS_TEST_KILL_AT"] = kill_at
    return cli.run(["--target", "dev", *args], cwd=root, env=env, timeout=120)


@pytest.fixture
def mlops(cli):
    """mlops(root, *args, kill_at=None): see :func:`run_mlops`."""
    return functools.partial(run_mlops, cli)


@pytest.fixture
def target(tmp_path):
    """The emulator and the project whose run is killed."""
    with DatabricksEmulator(token=TOKEN) as emu:
        sample_project(tmp_path, host=emu.url, **PROJECT)
        yield emu, tmp_path


#: flow -> (the command, whether the project is synced or deployed and changed first)
FLOWS = {"sync": (["sync"], False), "sync-prune": (["sync", "--prune"], True),
         "deploy": (["deploy"], False), "deploy-update": (["deploy"], True)}


@pytest.fixture(scope="module")
def reference(cli, tmp_path_factory):
    """reference(flow) -> the workspace state (sync flows) or jobs state (deploy flows) that
    uninterrupted runs of ``flow`` leave, made once per flow on an emulator of its own."""
    made: dict[str, object] = {}

    def ok(root: Path, *args: str) -> None:
        run = run_mlops(cli, root, *args)
        assert run.returncode == 0, run.stdout + run.stderr

    def get(flow: str) -> object:
        if flow not in made:
            command, update = FLOWS[flow]
            root = tmp_path_factory.mktemp(f"reference-{flow}")
            with DatabricksEmulator(token=TOKEN) as emu:
                sample_project(root, host=emu.url, **PROJECT)
                if update:
                    ok(root, command[0])
                    change_repo(root)
                ok(root, *command)
                made[flow] = copy.deepcopy(workspace_state(emu) if command[0] == "sync" else jobs_state(emu))
        return made[flow]

    return get


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


def killed_then_rerun(mlops, root: Path, args: list[str], point: str) -> Run:
    died = mlops(root, *args, kill_at=point)
    assert died.returncode == -signal.SIGKILL, f"{point} was not reached: {died.returncode} {died.stderr}"
    again = mlops(root, *args)
    assert again.returncode == 0, again.stdout + again.stderr
    return again


SYNC_POINTS = ["sync.mkdirs", "sync.upload:1", "sync.upload:5", "sync.manifest"]


@pytest.mark.parametrize("point", SYNC_POINTS)
def test_first_sync_killed_converges(target, reference, mlops, point):
    killed, root = target
    again = killed_then_rerun(mlops, root, ["sync"], point)
    assert "conflict" not in again.stdout
    assert workspace_state(killed) == reference("sync")
    assert mlops(root, "--format", "json", "sync").stdout.count('"op"') == 0  # nothing left to do


@pytest.mark.parametrize("point", ["sync.upload:1", "sync.delete:1", "sync.manifest"])
def test_update_and_prune_killed_converges(target, reference, mlops, point):
    killed, root = target
    assert mlops(root, "sync").returncode == 0
    change_repo(root)
    again = killed_then_rerun(mlops, root, ["sync", "--prune"], point)
    assert "conflict" not in again.stdout, again.stdout
    assert workspace_state(killed) == reference("sync-prune")
    files = killed.files
    assert all(f"/Shared/demo/{rel}" in files for rel in manifest(killed))  # the deleted notebook's entry is gone


def deploy_killed(mlops, root: Path, point: str, *, update: bool) -> None:
    if update:
        assert mlops(root, "deploy").returncode == 0
        change_repo(root)
    killed_then_rerun(mlops, root, ["deploy"], point)


@pytest.mark.parametrize("point", ["deploy.create:1", "deploy.create:4", "deploy.created"])
def test_first_deploy_killed_leaves_no_duplicate(target, reference, mlops, point):
    killed, root = target
    deploy_killed(mlops, root, point, update=False)
    assert jobs_state(killed) == reference("deploy") and len(jobs_state(killed)) == 6


@pytest.mark.parametrize("point", ["deploy.apply:1", "deploy.apply:2"])
def test_update_deploy_killed_converges(target, reference, mlops, point):
    killed, root = target
    deploy_killed(mlops, root, point, update=True)
    state = jobs_state(killed)
    assert state == reference("deploy-update")
    assert sorted(s["name"] for s in state.values())[-2:] == ["demo-renamed1-dev", "demo-renamed4-dev"]


def test_a_killed_deploy_then_a_create_whose_answer_was_lost(target, reference, mlops):
    """The kill leaves jobs behind; the re-run loses the answer of a create: still one job per key."""
    killed, root = target
    died = mlops(root, "deploy", kill_at="deploy.create:2")
    assert died.returncode == -signal.SIGKILL
    killed.faults = Faults(script=["lost"], path_pattern="jobs/create")
    assert mlops(root, "deploy").returncode == 0
    assert jobs_state(killed) == reference("deploy")


def test_kill_point_names_are_the_documented_ones():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md").read_text()
    for point in SYNC_POINTS + ["sync.delete", "deploy.create", "deploy.created", "deploy.apply"]:
        assert f"`{point.split(':')[0]}`" in doc, point
