"""`mlops init` makes a project that passes, untouched, lint, test, pipelines validate, adf export
and the whole lifecycle on the embedded default: the main job once, end to end, in CI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

MLOPS = str(Path(sys.executable).with_name("mlops"))


def mlops(*args: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([MLOPS, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ})


@pytest.mark.slow
def test_a_scaffolded_project_passes_everything_untouched(tmp_path):
    folder = tmp_path / "toll"
    done = mlops("init", str(folder), "--name", "toll-demand", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (folder / ".git").is_dir()
    for args in (["add", "-A"], ["commit", "-q", "-m", "scaffold"]):
        subprocess.run(["git", *args], cwd=folder, check=True)

    for args in (["lint"], ["test"], ["pipelines", "validate"]):
        step = mlops(*args, cwd=folder)
        assert step.returncode == 0, f"mlops {' '.join(args)}: {step.stdout[-2000:]}{step.stderr[-2000:]}"
    export = mlops("--target", "production", "adf", "export", "--out", "adf", cwd=folder)
    assert export.returncode == 0, export.stderr
    assert (folder / "adf" / "pipeline" / "monitor_model.json").is_file()

    started = time.monotonic()
    done = mlops("--format", "json", "lifecycle", cwd=folder)
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    doc = json.loads(done.stdout)
    assert doc["ok"] and [s["name"] for s in doc["steps"]] == [
        "lint", "test", "sync", "deploy", "train", "validate", "promote", "infer", "monitoring", "report",
    ]
    outcomes = [m["outcome"] for m in doc["monitoring"]]
    assert "in-range" in outcomes and outcomes.count("retrained") == 1 and outcomes[-1] == "alerted"
    log = subprocess.run(["git", "log", "--format=%s"], cwd=folder, capture_output=True, text=True).stdout
    assert "[skip ci]" in log.splitlines()[0] and log.splitlines()[-1] == "scaffold"
    assert (folder / ".mlops/alerts.jsonl").is_file() and (folder / ".mlops/report/metrics.png").is_file()
    # the scaffold itself is untouched by the run except for the auto-commit
    status = subprocess.run(["git", "status", "--porcelain"], cwd=folder, capture_output=True, text=True).stdout
    assert status.strip() in ("", "?? adf/"), status
    print(f"lifecycle wall time: {seconds:.0f}s")
