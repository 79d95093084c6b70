"""`mlops sync|deploy --plan-out / --plan` through the CLI: exit codes, messages, the run summary."""

import json
import subprocess
import sys

import pytest

from devops_mlops.testing.databricks_emulator import DatabricksEmulator, sample_project


def mlops(*args, cwd, env=None):
    import os

    full = {**os.environ, "DATABRICKS_TOKEN": "dapi-cli", **(env or {})}
    return subprocess.run([sys.executable, "-m", "devops_mlops", "--target", "dev", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def emu():
    with DatabricksEmulator(token="dapi-cli") as e:
        yield e


def test_plan_review_apply_through_the_cli(tmp_path, emu):
    sample_project(tmp_path, host=emu.url, jobs=2)
    out = mlops("sync", "--plan-out", "plan/sync.json", cwd=tmp_path, env={"TF_BUILD": "True"})
    assert out.returncode == 0, out.stderr
    md = tmp_path / "plan" / "sync.md"
    assert f"##vso[task.uploadsummary]{md}" in out.stdout and "+ create" in out.stdout
    assert emu.writes() == []
    dep = mlops("--format", "json", "deploy", "--plan-out", "plan/deploy.json", cwd=tmp_path)
    assert dep.returncode == 0 and json.loads(dep.stdout)["plan_file"] == "plan/deploy.json"
    assert emu.writes() == []
    assert mlops("sync", "--plan", "plan/sync.json", cwd=tmp_path).returncode == 0
    applied = mlops("deploy", "--plan", "plan/deploy.json", cwd=tmp_path)
    assert applied.returncode == 0 and "deployed on dev: 2 create" in applied.stdout
    assert "+ tasks.second.notebook_task.base_parameters.n" in applied.stdout
    assert "0 create, 0 update, 0 delete, 2 unchanged" in mlops("deploy", "--dry-run", cwd=tmp_path).stdout
    # applied once: the target moved (our own jobs appeared), so the same plan is refused
    again = mlops("deploy", "--plan", "plan/deploy.json", cwd=tmp_path)
    assert again.returncode == 1 and "(job0) appeared" in again.stderr and "Traceback" not in again.stderr


def test_bad_plan_files_and_options_exit_2_with_one_line(tmp_path, emu):
    sample_project(tmp_path, host=emu.url)
    assert mlops("deploy", "--plan-out", "deploy.json", cwd=tmp_path).returncode == 0
    doc = json.loads((tmp_path / "deploy.json").read_text())
    doc["jobs"]["actions"][0]["settings"]["name"] = "renamed by hand"
    (tmp_path / "edited.json").write_text(json.dumps(doc))
    res = mlops("deploy", "--plan", "edited.json", cwd=tmp_path)
    assert res.returncode == 2 and "edited.json: field jobs.actions[0]: edited" in res.stderr
    res = mlops("sync", "--plan", "deploy.json", cwd=tmp_path)
    assert res.returncode == 2 and "deploy.json: field command:" in res.stderr
    res = mlops("deploy", "--plan", "deploy.json", "--job", "job0", cwd=tmp_path)
    assert res.returncode == 2 and "--job cannot be given" in res.stderr
    res = mlops("deploy", "--plan", "missing.json", cwd=tmp_path)
    assert res.returncode == 2 and "missing.json: no such plan file" in res.stderr
    for out in (res,):
        assert "Traceback" not in out.stderr
    assert emu.writes() == []
