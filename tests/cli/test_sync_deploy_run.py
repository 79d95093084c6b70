"""The CLI end to end: exit codes, plans, auth conflicts."""

import json
import subprocess
import sys

import pytest

from devops_mlops.testing.databricks_emulator import DatabricksEmulator, sample_project


def mlops(*args, cwd, env=None):
    import os

    full = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "devops_mlops", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def emu():
    with DatabricksEmulator(token="dapi-cli") as e:
        yield e


def test_sync_deploy_run_through_the_cli(tmp_path, emu):
    sample_project(tmp_path, host=emu.url)
    env = {"DATABRICKS_TOKEN": "dapi-cli"}
    plan = mlops("--target", "dev", "--dry-run", "sync", cwd=tmp_path, env=env)
    assert plan.returncode == 0, plan.stderr
    assert "+ create" in plan.stdout and "plan /Shared/demo" in plan.stdout
    assert emu.writes() == []
    out = mlops("--target", "dev", "--format", "json", "sync", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["counts"] == {"create": 4}  # 3 notebooks and mlops.yaml
    dep = mlops("--target", "dev", "deploy", cwd=tmp_path, env=env)
    assert dep.returncode == 0 and "+ create" in dep.stdout
    emu.set_outcome("second", error="KeyError: 'label'", error_trace="Traceback\nKeyError: 'label'")
    run = mlops("--target", "dev", "run", "job0", "--param", "env=x", cwd=tmp_path, env=env)
    assert run.returncode == 1
    assert "task second failed: KeyError: 'label'" in run.stdout
    assert "failed: run" in run.stderr and "dapi-cli" not in run.stdout + run.stderr


def test_workspace_conflict_exit_1(tmp_path, emu):
    sample_project(tmp_path, host=emu.url)
    env = {"DATABRICKS_TOKEN": "dapi-cli"}
    assert mlops("--target", "dev", "sync", cwd=tmp_path, env=env).returncode == 0
    emu.edit("/Shared/demo/nb0", b"# Databricks notebook source\nhotfix\n")
    res = mlops("--target", "dev", "sync", cwd=tmp_path, env=env)
    assert res.returncode == 1 and "--force" in res.stderr


def test_stray_second_auth_method_is_reported_with_the_fix(tmp_path, emu):
    sample_project(tmp_path, host=emu.url)
    env = {"DATABRICKS_TOKEN": "dapi-cli", "ARM_CLIENT_SECRET": "s3cr3t-value", "ARM_CLIENT_ID": "id",
           "ARM_TENANT_ID": "t"}
    res = mlops("--target", "dev", "sync", cwd=tmp_path, env=env)
    assert res.returncode == 2
    assert "DATABRICKS_AUTH_TYPE" in res.stderr and "unset" in res.stderr
    assert "s3cr3t-value" not in res.stderr and "Traceback" not in res.stderr


def test_bad_token_and_bad_job_definition_exit_2(tmp_path, emu):
    sample_project(tmp_path, host=emu.url)
    res = mlops("--target", "dev", "sync", cwd=tmp_path, env={"DATABRICKS_TOKEN": "wrong"})
    assert res.returncode == 2 and "rejected the credentials" in res.stderr
    (tmp_path / "resources" / "jobs.yml").write_text("resources:\n  jobs:\n    j:\n      tasks: 3\n")
    res = mlops("--target", "dev", "deploy", cwd=tmp_path, env={"DATABRICKS_TOKEN": "dapi-cli"})
    assert res.returncode == 2 and "jobs.yml:4" in res.stderr and "resources.jobs.j.tasks" in res.stderr


def test_selective_deploy_run_and_sync_through_the_cli(tmp_path, emu):
    sample_project(tmp_path, host=emu.url, jobs=3, notebooks=4, folders=2)
    env = {"DATABRICKS_TOKEN": "dapi-cli"}
    part = mlops("--target", "dev", "--format", "json", "sync", "notebooks/f1", cwd=tmp_path, env=env)
    assert part.returncode == 0, part.stderr
    doc = json.loads(part.stdout)
    assert doc["counts"] == {"create": 2} and doc["scope"] == ["f1"]
    assert mlops("--target", "dev", "sync", cwd=tmp_path, env=env).returncode == 0
    dep = mlops("--target", "dev", "deploy", "--job", "job2", "--job", "job0", cwd=tmp_path, env=env)
    assert dep.returncode == 0, dep.stderr
    assert "+ create    job2" in dep.stdout and "job1" not in dep.stdout
    bad = mlops("--target", "dev", "deploy", "--job", "jbo1", cwd=tmp_path, env=env)
    assert bad.returncode == 2 and "'jbo1'" in bad.stderr and "job0, job1, job2" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    runs = mlops("--target", "dev", "--format", "json", "run", "job0", "--job", "job2", cwd=tmp_path, env=env)
    assert runs.returncode == 0, runs.stderr
    assert [r["job"] for r in json.loads(runs.stdout)["runs"]] == ["job0", "job2"]
    unknown = mlops("--target", "dev", "run", "--job", "job0", "--job", "zzz", cwd=tmp_path, env=env)
    assert unknown.returncode == 2 and "'zzz'" in unknown.stderr and "job0, job1, job2" in unknown.stderr
    assert len(emu.runs) == 2  # nothing ran for the bad request
    outside = mlops("--target", "dev", "sync", "resources", cwd=tmp_path, env=env)
    assert outside.returncode == 2 and "not inside the notebooks folder" in outside.stderr


# ------------------------------------------------------------------ saved plans (--plan-out / --plan)
ENV = {"DATABRICKS_TOKEN": "dapi-cli"}


def dev(*args, cwd, env=None):
    return mlops("--target", "dev", *args, cwd=cwd, env={**ENV, **(env or {})})


def test_plan_review_apply_through_the_cli(tmp_path, emu):
    sample_project(tmp_path, host=emu.url, jobs=2)
    out = dev("sync", "--plan-out", "plan/sync.json", cwd=tmp_path, env={"TF_BUILD": "True"})
    assert out.returncode == 0, out.stderr
    md = tmp_path / "plan" / "sync.md"
    assert f"##vso[task.uploadsummary]{md}" in out.stdout and "+ create" in out.stdout
    assert emu.writes() == []
    dep = dev("--format", "json", "deploy", "--plan-out", "plan/deploy.json", cwd=tmp_path)
    assert dep.returncode == 0 and json.loads(dep.stdout)["plan_file"] == "plan/deploy.json"
    assert '+ name: "demo-job0-dev"' in json.loads(dep.stdout)["actions"][0]["diff"]
    assert emu.writes() == []
    assert dev("sync", "--plan", "plan/sync.json", cwd=tmp_path).returncode == 0
    applied = dev("deploy", "--plan", "plan/deploy.json", cwd=tmp_path)
    assert applied.returncode == 0 and "deployed on dev: 2 create" in applied.stdout
    assert "+ tasks.second.notebook_task.base_parameters.n" in applied.stdout
    assert "0 create, 0 update, 0 delete, 2 unchanged" in dev("deploy", "--dry-run", cwd=tmp_path).stdout
    # applied once: the target moved (our own jobs appeared), so the same plan is refused
    again = dev("deploy", "--plan", "plan/deploy.json", cwd=tmp_path)
    assert again.returncode == 1 and "(job0) appeared" in again.stderr and "Traceback" not in again.stderr


def test_bad_plan_files_and_options_exit_2_with_one_line(tmp_path, emu):
    sample_project(tmp_path, host=emu.url)
    assert dev("deploy", "--plan-out", "deploy.json", cwd=tmp_path).returncode == 0
    doc = json.loads((tmp_path / "deploy.json").read_text())
    doc["jobs"]["actions"][0]["settings"]["name"] = "renamed by hand"
    (tmp_path / "edited.json").write_text(json.dumps(doc))
    res = dev("deploy", "--plan", "edited.json", cwd=tmp_path)
    assert res.returncode == 2 and "edited.json: field jobs.actions[0]: edited" in res.stderr
    res = dev("sync", "--plan", "deploy.json", cwd=tmp_path)
    assert res.returncode == 2 and "deploy.json: field command:" in res.stderr
    res = dev("deploy", "--plan", "deploy.json", "--job", "job0", cwd=tmp_path)
    assert res.returncode == 2 and "--job cannot be given" in res.stderr
    res = dev("deploy", "--plan", "missing.json", cwd=tmp_path)
    assert res.returncode == 2 and "missing.json: no such plan file" in res.stderr
    assert "Traceback" not in res.stderr
    assert emu.writes() == []
