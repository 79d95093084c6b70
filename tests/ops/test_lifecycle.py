"""`mlops lifecycle`, the main job, once, end to end, in a copy of the project with its own git repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devops_mlops.lifecycle import sandbox

MLOPS = str(Path(sys.executable).with_name("mlops"))


@pytest.mark.slow
def test_the_whole_lifecycle_behaves_as_designed(tmp_path):
    folder = sandbox.make_project(tmp_path / "proj")
    started = time.monotonic()
    done = subprocess.run(
        [MLOPS, "--format", "json", "lifecycle"],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=600,
    )
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    doc = json.loads(done.stdout)
    assert doc["ok"] and [s["name"] for s in doc["steps"]] == [
        "lint",
        "test",
        "sync",
        "deploy",
        "train",
        "validate",
        "promote",
        "infer",
        "monitoring",
        "report",
    ]
    outcomes = [m["outcome"] for m in doc["monitoring"]]
    assert "in-range" in outcomes and outcomes.count("retrained") == 1 and outcomes[-1] == "alerted"
    log = subprocess.run(["git", "log", "--format=%s"], cwd=folder, capture_output=True, text=True).stdout
    assert "[skip ci]" in log.splitlines()[0]
    assert (folder / ".mlops/alerts.jsonl").is_file() and (folder / ".mlops/report/metrics.png").is_file()
    print(f"lifecycle wall time: {seconds:.0f}s")


def test_outside_a_git_repository_it_says_what_to_do(tmp_path):
    folder = sandbox.make_project(tmp_path / "proj", git=False)
    done = subprocess.run([MLOPS, "lifecycle"], cwd=folder, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "not a git repository" in done.stderr and "git init" in done.stderr
    assert "Traceback" not in done.stderr
