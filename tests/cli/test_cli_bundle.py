"""The CLI over a bundle-shaped project: plan, note, saved plans with permissions, bad references."""

import json
import os
import subprocess
import sys

import pytest

from devops_mlops.testing.bundle_project import write_bundle_project
from devops_mlops.testing.databricks_emulator import DatabricksEmulator

ENV = {"DATABRICKS_TOKEN": "dapi-cli-bundle"}


def mlops(*args, cwd):
    return subprocess.run([sys.executable, "-m", "devops_mlops", *args], cwd=cwd, env={**os.environ, **ENV},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def emu():
    with DatabricksEmulator(token=ENV["DATABRICKS_TOKEN"]) as e:
        yield e


def test_dry_run_plans_every_job_and_names_what_is_left_to_the_bundle(tmp_path, emu):
    write_bundle_project(tmp_path, ["other_resources", "permissions", "run_job"], host=emu.url)
    res = mlops("--target", "dev", "deploy", "--dry-run", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert ("note: left to the bundle CLI (mlops deploys jobs only): pipelines (other_resources_etl); "
            "schemas (other_resources_schema); volumes (other_resources_raw)") in res.stderr
    assert "+ create    run_job_child" in res.stdout
    assert "+ create    run_job\n    after run_job_child: its job id is filled in once created" in res.stdout
    assert "~ permissions permissions" in res.stdout
    assert "+ permissions: group data-engineers: CAN_MANAGE_RUN" in res.stdout
    assert "plan on dev: 4 create" in res.stdout and "permissions of 1 job(s) set" in res.stdout
    assert emu.writes() == []


def test_saved_plan_with_permissions_applies_and_refuses_moved_permissions(tmp_path, emu):
    write_bundle_project(tmp_path, ["permissions"], host=emu.url)
    assert mlops("--target", "dev", "deploy", cwd=tmp_path).returncode == 0
    [jid] = emu.jobs
    with emu.lock:
        emu.permissions.direct[jid] = [e for e in emu.permissions.direct[jid] if e.get("group_name") is None]
    plan = tmp_path / "plan.json"
    out = mlops("--target", "dev", "deploy", "--plan-out", str(plan), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    doc = json.loads(plan.read_text())
    assert [p["op"] for p in doc["jobs"]["permissions"]] == ["set"]
    assert f"permissions of job {jid}" in doc["remote_state"]["items"]
    with emu.lock:  # the permissions move after the review
        emu.permissions.direct[jid].append({"user_name": "late@example.com", "permission_level": "CAN_VIEW"})
    refused = mlops("--target", "dev", "deploy", "--plan", str(plan), cwd=tmp_path)
    assert refused.returncode == 1 and f"permissions of job {jid} (permissions) were changed" in refused.stderr
    out = mlops("--target", "dev", "deploy", "--plan-out", str(plan), cwd=tmp_path)
    applied = mlops("--target", "dev", "deploy", "--plan", str(plan), cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    acl = emu.permissions.acl(jid)
    assert {"group_name": "data-engineers", "permission_level": "CAN_MANAGE_RUN"} in acl
    assert all(e.get("user_name") != "late@example.com" for e in acl)


@pytest.mark.parametrize("edit,needle,line", [
    (("${var.catalog}", "${var.catalgo}"), "undefined variable ${var.catalgo}", 13),
    (("${var.catalog}", "${resources.pipelines.p.id}"), "no resource pipelines.p in the files", 13),
    (("../src/variables_nb.py", "../src/nope.py"), "no notebook '../src/nope.py'", 11),
])
def test_bad_references_are_one_line_exit_2_naming_file_and_line(tmp_path, emu, edit, needle, line):
    write_bundle_project(tmp_path, ["variables"], host=emu.url)
    f = tmp_path / "resources" / "variables.yml"
    f.write_text(f.read_text().replace(*edit))
    res = mlops("--target", "dev", "deploy", "--dry-run", cwd=tmp_path)
    assert res.returncode == 2
    assert needle in res.stderr and f"variables.yml:{line}" in res.stderr
    assert "Traceback" not in res.stderr and len([x for x in res.stderr.splitlines() if x.startswith("error")]) == 1
    assert emu.writes() == []
