"""`mlops deploy` of bundle-shaped job files against the Databricks emulator, through the real SDK:
every shape deploys, the current user is asked once, permissions converge, job ids are filled
in, and jobs move between the bundle CLI and mlops without duplicates."""

import copy

import pytest

from devops_mlops.config import load_config
from devops_mlops.context import Context
from devops_mlops.core.deploy_plan import normalize
from devops_mlops.ops.deploy import deploy
from devops_mlops.testing.bundle_project import SHAPES, write_bundle_project
from devops_mlops.testing.databricks_emulator import DatabricksEmulator


@pytest.fixture
def emu(monkeypatch):
    with DatabricksEmulator(token="dapi-bundle", user="Jane.Doe@example.com") as e:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-bundle")
        yield e


def ctx_for(tmp_path, emu, shapes=None, dry_run=False):
    cfg = load_config(write_bundle_project(tmp_path, shapes, host=emu.url))
    return Context(cfg, cfg.target("dev"), dry_run=dry_run)


def me_calls(emu) -> int:
    return len(emu.requests_by_path("/preview/scim/v2/Me"))


def test_every_shape_deploys_and_a_second_deploy_writes_nothing(tmp_path, emu):
    dry = ctx_for(tmp_path, emu, dry_run=True)
    plan = deploy(dry).plan
    keys = sorted(a.key for a in plan.actions)
    assert keys == sorted(list(SHAPES) + ["run_job_child"])
    assert emu.writes() == []
    ctx = Context(dry.config, dry.target)
    result = deploy(ctx)
    assert result.plan.counts() == {"create": len(keys)}
    jobs = {s["tags"]["mlops_job_key"]: (jid, s) for jid, s in emu.jobs.items()}
    assert jobs["current_user"][1]["name"] == "[jane_doe] current_user"
    assert jobs["current_user"][1]["tags"]["owner"] == "Jane.Doe@example.com"
    assert me_calls(emu) == 2  # once per run (the dry run and this one), not once per use
    params = jobs["variables"][1]["tasks"][0]["notebook_task"]["base_parameters"]
    assert params == {"catalog": "dev", "schema": "sales_dev", "warehouse": "0123456789abcdef"}
    assert jobs["file_path"][1]["tasks"][0]["notebook_task"]["notebook_path"] == \
        "/Workspace/Shared/shop/file_path_nb"
    assert jobs["bundle_name"][1]["name"] == "shop-bundle_name-dev"
    assert jobs["included"][1]["tasks"][0]["notebook_task"]["notebook_path"] == "/Workspace/Shared/shop/included_nb"
    other = jobs["other_resources"][1]["tasks"][0]["notebook_task"]["base_parameters"]
    assert other == {"schema": "other_resources_dev", "volume": "/Volumes/dev/other_resources_dev/raw"}
    # the job that runs another carries that job's id, created first
    child_id = jobs["run_job_child"][0]
    assert jobs["run_job"][1]["tasks"][0]["run_job_task"]["job_id"] == child_id
    assert jobs["run_job"][0] > child_id
    # permissions: the block's entries plus the creator kept as owner
    acl = emu.permissions.acl(jobs["permissions"][0])
    assert sorted(map(str, acl)) == sorted(map(str, [
        {"group_name": "data-engineers", "permission_level": "CAN_MANAGE_RUN"},
        {"user_name": "analyst@example.com", "permission_level": "CAN_VIEW"},
        {"user_name": "Jane.Doe@example.com", "permission_level": "IS_OWNER"}]))
    assert {"group_name": "users", "permission_level": "CAN_VIEW"} in emu.permissions.acl(jobs["anchors"][0])
    emu.reset_log()
    again = deploy(ctx)
    assert again.plan.counts() == {"unchanged": len(keys)}
    assert [p.op for p in again.plan.permissions] == ["unchanged", "unchanged"]
    assert emu.writes() == []


def test_permissions_drift_is_planned_and_repaired(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu, ["permissions"])
    deploy(ctx)
    [jid] = emu.jobs
    with emu.lock:  # someone adds a grant in the UI
        emu.permissions.direct[jid].append({"user_name": "intruder@example.com", "permission_level": "CAN_MANAGE"})
    plan = deploy(Context(ctx.config, ctx.target, dry_run=True)).plan
    assert plan.counts() == {"unchanged": 1}
    [p] = plan.permissions
    assert p.op == "set" and p.diff == ["- permissions: user intruder@example.com: CAN_MANAGE"]
    emu.reset_log()
    deploy(ctx)
    assert len(emu.requests_by_path("/permissions/jobs/", "PUT")) == 1
    assert all(e.get("user_name") != "intruder@example.com" for e in emu.permissions.acl(jid))


def test_a_file_without_current_user_never_asks_for_it(tmp_path, emu):
    deploy(ctx_for(tmp_path, emu, ["variables", "bundle_name"]))
    assert me_calls(emu) == 0


def test_an_id_known_before_the_plan_is_filled_in_and_compared(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu, ["run_job"])
    deploy(ctx)
    emu.reset_log()
    plan = deploy(Context(ctx.config, ctx.target, dry_run=True)).plan
    assert plan.counts() == {"unchanged": 2}
    # a selective deploy of the parent alone works once the child exists
    assert deploy(ctx, only=["run_job"]).plan.counts() == {"unchanged": 1}


def test_a_selective_deploy_naming_an_undeployed_job_is_exit_2(tmp_path, emu):
    from devops_mlops.errors import ConfigError

    ctx = ctx_for(tmp_path, emu, ["run_job"])
    with pytest.raises(ConfigError) as exc:
        deploy(ctx, only=["run_job"])
    assert "names the id of job run_job_child" in exc.value.message and exc.value.exit_code == 2
    assert emu.writes() == []


def _as_the_bundle_cli(emu, settings: dict, job_id: int | None = None) -> int:
    """What `databricks bundle deploy` sends for a job (create, or reset when bound to job_id), with the
    deployment block it adds; through the real SDK."""
    from databricks.sdk import WorkspaceClient

    body = copy.deepcopy(settings)
    tags = {k: v for k, v in (body.get("tags") or {}).items() if not k.startswith("mlops_")}
    body["tags"] = {**tags, "dev": "jane_doe"}
    body["name"] = "[dev jane_doe] " + body["name"]
    body["edit_mode"] = "UI_LOCKED"
    body["deployment"] = {"kind": "BUNDLE",
                          "metadata_file_path": "/Workspace/Users/Jane.Doe@example.com/.bundle/shop/dev/state/metadata.json"}
    w = WorkspaceClient(host=emu.url, token="dapi-bundle")
    if job_id is None:
        return int(w.api_client.do("POST", "/api/2.2/jobs/create", body=body)["job_id"])
    w.api_client.do("POST", "/api/2.2/jobs/reset", body={"job_id": job_id, "new_settings": body})
    return job_id


def test_round_trip_with_the_bundle_cli_leaves_no_duplicate(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu, ["bundle_name", "variables"])
    dry = deploy(Context(ctx.config, ctx.target, dry_run=True))
    wanted = {a.key: a.settings for a in dry.plan.actions}
    # the bundle deployed first: mlops adopts its jobs instead of creating second ones
    ids = {key: _as_the_bundle_cli(emu, s) for key, s in wanted.items()}
    result = deploy(ctx)
    assert result.plan.counts() == {"update": 2}
    assert all("adopt the job the bundle CLI deployed" in a.reason for a in result.plan.actions)
    assert sorted(emu.jobs) == sorted(ids.values())
    for key, jid in ids.items():
        assert emu.jobs[jid]["tags"]["mlops_job_key"] == key
        assert normalize(emu.jobs[jid], wanted[key]) == normalize(wanted[key], wanted[key])
    assert deploy(ctx).plan.counts() == {"unchanged": 2}
    # the bundle deploys again (bound to the same jobs): its settings replace ours, still 2 jobs
    for key, jid in ids.items():
        _as_the_bundle_cli(emu, wanted[key], jid)
    assert deploy(ctx).plan.counts() == {"update": 2}
    assert sorted(emu.jobs) == sorted(ids.values())
    assert len(emu.jobs_created) == 2


def test_a_bundle_job_of_another_bundle_or_target_is_not_adopted(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu, ["bundle_name"])
    [settings] = [a.settings for a in deploy(Context(ctx.config, ctx.target, dry_run=True)).plan.actions]
    jid = _as_the_bundle_cli(emu, settings)
    with emu.lock:
        emu.jobs[jid]["deployment"]["metadata_file_path"] = "/Workspace/Users/x/.bundle/other/dev/state/metadata.json"
    assert deploy(ctx).plan.counts() == {"create": 1}


def test_a_saved_plan_that_adopts_a_bundle_job_is_refused_once_the_bundle_redeployed_it(tmp_path, emu):
    """The adopted job carries no tags of ours yet, but the plan acts on it: its settings are in
    the plan's fingerprint like those of our own jobs."""
    from devops_mlops.errors import CheckFailed
    from devops_mlops.ops import plan_apply

    ctx = ctx_for(tmp_path, emu, ["bundle_name"])
    dry = Context(ctx.config, ctx.target, dry_run=True)
    [settings] = [a.settings for a in deploy(dry).plan.actions]
    jid = _as_the_bundle_cli(emu, settings)
    planned = deploy(dry)
    assert [a.reason for a in planned.plan.actions] == ["adopt the job the bundle CLI deployed (same name, this bundle and target)"]
    plan_file = tmp_path / "deploy.json"
    plan_apply.save_deploy(dry, planned, plan_file, prune=False)
    _as_the_bundle_cli(emu, {**settings, "max_concurrent_runs": 7}, jid)  # the bundle CLI deploys again
    emu.reset_log()
    with pytest.raises(CheckFailed) as exc:
        plan_apply.apply_deploy(ctx, plan_file)
    assert f"job {jid} (" in exc.value.message and "was edited" in exc.value.message
    assert emu.writes() == []
    assert emu.jobs[jid]["max_concurrent_runs"] == 7
