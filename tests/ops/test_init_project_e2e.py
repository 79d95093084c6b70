"""`mlops init` makes a project that passes, untouched, lint, test, pipelines validate, adf export
and the whole lifecycle on the embedded default: the main job once, end to end, in CI. The
project owns its ML code: its package is named after it, and editing a feature there changes
what is trained."""

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
    folder = tmp_path / "fraud"
    done = mlops("init", str(folder), "--name", "fraud-scoring", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (folder / ".git").is_dir() and (folder / "src" / "fraud_scoring").is_dir()
    for args in (["add", "-A"], ["commit", "-q", "-m", "scaffold"]):
        subprocess.run(["git", *args], cwd=folder, check=True)
    # like a fresh clone of the team's repository: an origin the local rehearsal must not touch
    bare = tmp_path / "team.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    for args in (["remote", "add", "origin", str(bare)], ["push", "-q", "origin", "HEAD:refs/heads/main"]):
        subprocess.run(["git", *args], cwd=folder, check=True)

    def git(*args):
        return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True).stdout.strip()

    remote_refs = git("ls-remote", str(bare))

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
    # local stays local: the retrain commit is on a local branch, HEAD and the remote are as they were
    assert git("ls-remote", str(bare)) == remote_refs and git("log", "--format=%s") == "scaffold"
    [retrained] = [m for m in doc["monitoring"] if m["outcome"] == "retrained"]
    branch = retrained["commit_branch"]
    from devops_mlops.config import load_config
    from devops_mlops.ops.commit_local import local_branch

    model = load_config(folder / "mlops.yaml").model.name
    assert branch == local_branch(model, retrained["promoted"]) and retrained["pushed"] is False
    assert git("rev-parse", branch) == retrained["commit"] and git("rev-parse", f"{branch}^1") == git("rev-parse", "HEAD")
    assert "[skip ci]" in git("log", "-1", "--format=%s", branch)
    assert any(f"on {branch}, not pushed" in n for n in doc["notes"])
    assert (folder / ".mlops/alerts.jsonl").is_file() and (folder / ".mlops/report/metrics.png").is_file()
    # the scaffold itself is untouched by the run except for the auto-commit
    status = subprocess.run(["git", "status", "--porcelain"], cwd=folder, capture_output=True, text=True).stdout
    assert status.strip() in ("", "?? adf/"), status
    print(f"lifecycle wall time: {seconds:.0f}s")


def init_and_commit(folder: Path, name: str) -> None:
    done = mlops("init", str(folder), "--name", name, cwd=folder.parent)
    assert done.returncode == 0, done.stderr
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    for args in (["add", "-A"], ["commit", "-q", "-m", "scaffold"]):
        subprocess.run(["git", *args], cwd=folder, check=True, env=env)


def trained_inputs(folder: Path) -> list[str]:
    """Sync, deploy and run the training job (notebooks in local kernels); the registered model's inputs."""
    for args in (["sync"], ["deploy"], ["run", "training"]):
        step = mlops(*args, cwd=folder)
        assert step.returncode == 0, f"mlops {' '.join(args)}: {step.stdout[-2000:]}{step.stderr[-2000:]}"
    probe = (
        "import json, sys\n"
        "from devops_mlops.context import Context\n"
        "ctx = Context.create(config_path='mlops.yaml')\n"
        "model = ctx.registry.load_model(ctx.config.model.name, 1)\n"
        "print(json.dumps(model.metadata.get_input_schema().input_names()))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=folder, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_editing_a_feature_in_the_projects_own_package_changes_what_is_trained(tmp_path):
    folder = tmp_path / "fraud"
    init_and_commit(folder, "fraud-scoring")
    features = folder / "src" / "fraud_scoring" / "features.py"
    source = features.read_text()
    listed = source[source.index("FEATURES = [") : source.index("]", source.index("FEATURES = ["))]
    template = [line.strip().strip(",").strip('"') for line in listed.splitlines()[1:] if line.strip()]
    assert '"event"' in listed and "doy_sin" not in listed
    # the team drops one input and adds another the feature builder already computes
    features.write_text(source.replace(listed, listed.replace('    "event",\n', '    "doy_sin",\n')))
    assert trained_inputs(folder) == [c for c in template if c != "event"] + ["doy_sin"] != template
