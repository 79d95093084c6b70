"""Saved plans over the Databricks adapter + emulator (the real SDK) and the local backend:
plan-out then apply, a target that moved in between, and plan files that must be refused."""

import json
import os
import time

import pytest

from devops_mlops.config import load_config
from devops_mlops.context import Context
from devops_mlops.errors import CheckFailed, InputError
from devops_mlops.ops import plan_apply
from devops_mlops.ops.deploy import deploy
from devops_mlops.ops.sync import sync
from devops_mlops.testing.databricks_emulator import DatabricksEmulator, sample_project


@pytest.fixture
def emu(monkeypatch):
    with DatabricksEmulator(token="dapi-plan") as e:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-plan")
        yield e


def contexts(root, emu, target="dev", **kw):
    """(planning context: dry run, applying context) over one project."""
    root.mkdir(parents=True, exist_ok=True)
    cfg = load_config(sample_project(root, host=emu.url if emu else None, **kw))
    return Context(cfg, cfg.target(target), dry_run=True), Context(cfg, cfg.target(target))


def plan_deploy_to(ctx, path, **kw):
    result = deploy(ctx, **kw)
    plan_apply.save_deploy(ctx, result, path, prune=kw.get("prune", False))
    return result


def plan_sync_to(ctx, path, scope=None):
    result = sync(ctx, scope=scope)
    plan_apply.save_sync(ctx, result, path, scope=scope, prune=False, force=False)
    return result


def local_state(root):
    state = root / ".mlops"
    return {p.relative_to(state).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in state.rglob("*") if p.is_file()} if state.exists() else {}


def edit_job(emu, job_id, **changes):
    """A change made in the Jobs UI."""
    with emu.lock:
        emu.jobs[job_id] = {**emu.jobs[job_id], **changes}


# ------------------------------------------------------------------ deploy
@pytest.mark.parametrize("backend", ["emulator", "local"])
def test_deploy_plan_then_apply_is_a_normal_deploy_and_replans_empty(tmp_path, backend, request):
    emu = request.getfixturevalue("emu") if backend == "emulator" else None
    target = "dev" if emu else "local"
    planning, applying = contexts(tmp_path / "a", emu, target, jobs=3)
    deploy(applying, only=["job0"])  # one job there already: the plan updates it
    jobs_yml = tmp_path / "a" / "resources" / "jobs.yml"
    jobs_yml.write_text(jobs_yml.read_text().replace('n: "0"', 'n: "5"'))
    plan_file = tmp_path / "out" / "deploy.json"
    plan_deploy_to(planning, plan_file)
    doc = json.loads(plan_file.read_text())
    assert [(a["op"], a["key"]) for a in doc["jobs"]["actions"]] == [("update", "job0"), ("create", "job1"),
                                                                     ("create", "job2")]
    assert doc["jobs"]["actions"][0]["diff"] == ['~ tasks.second.notebook_task.base_parameters.n: "0" -> "5"']
    assert '+ tasks.second.notebook_task.base_parameters.n: "1"' in doc["jobs"]["actions"][1]["diff"]
    assert doc["target"]["name"] == target and doc["target"]["project"] == "demo"
    assert "~ tasks.second" in plan_file.with_suffix(".md").read_text()
    assert [p.name for p in plan_file.parent.iterdir()] in (["deploy.json", "deploy.md"], ["deploy.md", "deploy.json"])

    result = plan_apply.apply_deploy(applying, plan_file)
    assert result.plan.counts() == {"update": 1, "create": 2}
    assert deploy(planning).plan.counts() == {"unchanged": 3}
    # the same final state as a plain deploy of the same definitions (in a second project and workspace)
    second = DatabricksEmulator(token="dapi-plan").__enter__() if emu else None
    try:
        _, ref = contexts(tmp_path / "b", second, target, jobs=3)
        (tmp_path / "b" / "resources" / "jobs.yml").write_text(jobs_yml.read_text())
        deploy(ref)
        mine = {j.settings["tags"]["mlops_job_key"]: j.settings for j in applying.jobs.list()}
        theirs = {j.settings["tags"]["mlops_job_key"]: j.settings for j in ref.jobs.list()}
        assert json.dumps(mine, sort_keys=True) == json.dumps(theirs, sort_keys=True).replace(
            str(tmp_path / "b"), str(tmp_path / "a"))
    finally:
        if second:
            second.__exit__(None, None, None)


def test_deploy_refuses_when_another_job_was_edited_and_writes_nothing(tmp_path, emu):
    planning, applying = contexts(tmp_path, emu, jobs=3)
    ids = deploy(applying).job_ids
    jobs_yml = tmp_path / "resources" / "jobs.yml"
    jobs_yml.write_text(jobs_yml.read_text().replace('n: "0"', 'n: "9"'))
    plan_file = tmp_path / "deploy.json"
    plan_deploy_to(planning, plan_file)
    edit_job(emu, ids["job2"], description="edited in the UI")
    emu.reset_log()
    with pytest.raises(CheckFailed) as exc:
        plan_apply.apply_deploy(applying, plan_file)
    assert exc.value.exit_code == 1
    assert f"job {ids['job2']} (job2) was edited" in exc.value.message and str(plan_file) in exc.value.message
    assert emu.writes() == []
    # a job of ours deleted, and one created by someone else's deploy, are named too
    with emu.lock:
        del emu.jobs[ids["job1"]]
    with pytest.raises(CheckFailed) as exc:
        plan_apply.apply_deploy(applying, plan_file)
    assert f"job {ids['job1']} (job1) was deleted" in exc.value.message


def test_selective_plan_records_its_selection_and_ignores_other_jobs(tmp_path, emu):
    planning, applying = contexts(tmp_path, emu, jobs=3)
    ids = deploy(applying).job_ids
    jobs_yml = tmp_path / "resources" / "jobs.yml"
    jobs_yml.write_text(jobs_yml.read_text().replace('n: "0"', 'n: "4"').replace('n: "1"', 'n: "6"'))
    plan_file = tmp_path / "deploy.json"
    plan_deploy_to(planning, plan_file, only=["job1"])
    doc = json.loads(plan_file.read_text())
    assert doc["selection"] == {"only": ["job1"], "prune": False}
    assert list(doc["remote_state"]["items"]) == [f"job {ids['job1']}"]
    edit_job(emu, ids["job2"], description="outside the selection")
    emu.reset_log()
    result = plan_apply.apply_deploy(applying, plan_file)
    assert result.plan.counts() == {"update": 1}
    assert len(emu.requests_by_path("/jobs/reset")) == 1
    # besides the reset, only the jobs lock's lease (its folder, its record, its release)
    others = [r for r in emu.writes() if r.path != "/api/2.2/jobs/reset"]
    assert others and all("/.mlops-locks/demo/jobs" in (r.json or {}).get("path", "") for r in others)
    assert emu.jobs[ids["job1"]]["tasks"][1]["notebook_task"]["base_parameters"] == {"n": "6"}
    assert emu.jobs[ids["job0"]]["tasks"][1]["notebook_task"]["base_parameters"] == {"n": "0"}


def test_prune_plan_lists_what_a_delete_removes_and_applies_it(tmp_path, emu):
    planning, applying = contexts(tmp_path, emu, jobs=2)
    ids = deploy(applying).job_ids
    yml = tmp_path / "resources" / "jobs.yml"
    yml.write_text(yml.read_text()[: yml.read_text().index("    job1:")])
    plan_file = tmp_path / "deploy.json"
    result = plan_deploy_to(planning, plan_file, prune=True)
    [delete] = result.plan.of("delete")
    assert delete.job_id == ids["job1"] and '- name: "demo-job1-dev"' in delete.diff
    assert json.loads(plan_file.read_text())["selection"] == {"only": None, "prune": True}
    plan_apply.apply_deploy(applying, plan_file)
    assert sorted(emu.jobs) == [ids["job0"]]
    assert deploy(planning, prune=True).plan.counts() == {"unchanged": 1}


def test_deploy_plan_applies_what_was_reviewed_not_a_replan(tmp_path, emu):
    planning, applying = contexts(tmp_path, emu, jobs=1)
    plan_file = tmp_path / "deploy.json"
    plan_deploy_to(planning, plan_file)
    jobs_yml = tmp_path / "resources" / "jobs.yml"
    jobs_yml.write_text(jobs_yml.read_text().replace('n: "0"', 'n: "after the review"'))
    emu.reset_log()
    checked = plan_apply.apply_deploy(planning, plan_file)  # --dry-run --plan: checked and printed only
    assert checked.plan.counts() == {"create": 1} and emu.writes() == []
    job_id = plan_apply.apply_deploy(applying, plan_file).job_ids["job0"]
    assert emu.jobs[job_id]["tasks"][1]["notebook_task"]["base_parameters"] == {"n": "0"}


# ------------------------------------------------------------------ sync
@pytest.mark.parametrize("backend", ["emulator", "local"])
def test_sync_plan_then_apply_and_replan_empty(tmp_path, backend, request):
    emu = request.getfixturevalue("emu") if backend == "emulator" else None
    planning, applying = contexts(tmp_path, emu, "dev" if emu else "local", notebooks=4, folders=2)
    sync(applying, scope=["f0"])
    (tmp_path / "notebooks" / "f0" / "nb0.py").write_text("# Databricks notebook source\nprint('v2')\n")
    plan_file = tmp_path / "sync.json"
    plan_sync_to(planning, plan_file)
    doc = json.loads(plan_file.read_text())
    config = [("create", "mlops.yaml")] if emu else []  # a Databricks workspace also gets mlops.yaml
    assert sorted((a["op"], a["rel"]) for a in doc["sync"]["actions"]) == [
        ("create", "f1/nb1"), ("create", "f1/nb3"), *config, ("update", "f0/nb0")]
    result = plan_apply.apply_sync(applying, plan_file)
    assert result.plan.counts() == {"create": 2 + len(config), "update": 1}
    assert sync(planning).plan.counts() == {"unchanged": 4 + len(config)}
    data = applying.workspace.export("/Shared/demo/f0/nb0" if emu else "/f0/nb0", format="SOURCE")
    assert b"print('v2')" in data


def test_sync_refuses_a_notebook_changed_in_the_workspace(tmp_path, emu):
    planning, applying = contexts(tmp_path, emu, notebooks=3)
    sync(applying)
    (tmp_path / "notebooks" / "nb1.py").write_text("# Databricks notebook source\nprint('v2')\n")
    plan_file = tmp_path / "sync.json"
    plan_sync_to(planning, plan_file)
    time.sleep(0.002)
    emu.edit("/Shared/demo/nb2", b"# Databricks notebook source\nhotfix\n")
    emu.reset_log()
    with pytest.raises(CheckFailed) as exc:
        plan_apply.apply_sync(applying, plan_file)
    assert "/Shared/demo/nb2 changed in the workspace" in exc.value.message
    assert emu.writes() == []
    assert b"hotfix" in emu.files["/Shared/demo/nb2"]


def test_sync_refuses_a_repo_file_changed_since_the_plan(tmp_path):
    planning, applying = contexts(tmp_path, None, "local", notebooks=2)
    plan_file = tmp_path / "sync.json"
    plan_sync_to(planning, plan_file)
    (tmp_path / "notebooks" / "nb1.py").write_text("# Databricks notebook source\nprint('not reviewed')\n")
    before = local_state(tmp_path)
    with pytest.raises(CheckFailed) as exc:
        plan_apply.apply_sync(applying, plan_file)
    assert "notebooks/nb1.py changed in the repo" in exc.value.message
    assert local_state(tmp_path) == before


def test_local_workspace_edit_between_plan_and_apply(tmp_path):
    planning, applying = contexts(tmp_path, None, "local", notebooks=2)
    sync(applying)
    (tmp_path / "notebooks" / "nb0.py").write_text("# Databricks notebook source\nprint('v2')\n")
    plan_file = tmp_path / "sync.json"
    plan_sync_to(planning, plan_file)
    edited = tmp_path / ".mlops" / "workspace" / "local" / "nb1.py"
    edited.write_text("# Databricks notebook source\nprint('edited')\n")
    os.utime(edited, (time.time() + 5, time.time() + 5))
    before = local_state(tmp_path)
    with pytest.raises(CheckFailed) as exc:
        plan_apply.apply_sync(applying, plan_file)
    assert "/nb1 changed in the workspace" in exc.value.message
    assert local_state(tmp_path) == before


def test_git_folder_plan_and_a_head_that_moved(tmp_path, emu):
    url = "https://dev.azure.com/org/proj/_git/demo"
    emu.git_heads[(url, "main")] = "a" * 40
    emu.add_repo("/Repos/ci/demo", url, head="1" * 40)
    planning, applying = contexts(tmp_path, emu, "prod")
    plan_file = tmp_path / "sync.json"
    plan_sync_to(planning, plan_file)
    assert json.loads(plan_file.read_text())["remote_state"]["items"] == {"git_folder": {"head_commit_id": "1" * 40}}
    assert plan_apply.apply_sync(applying, plan_file).git["head_commit_id"] == "a" * 40
    emu.reset_log()
    with pytest.raises(CheckFailed) as exc:
        plan_apply.apply_sync(applying, plan_file)
    assert "the Git folder /Repos/ci/demo moved" in exc.value.message
    assert emu.writes() == []


# ------------------------------------------------------------------ plan files that are refused
def _rewrite(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def test_tampered_foreign_and_other_target_plans_exit_2_naming_file_and_field(tmp_path, emu):
    planning, applying = contexts(tmp_path, emu, jobs=2)
    plan_file = tmp_path / "deploy.json"
    plan_deploy_to(planning, plan_file)
    good = plan_file.read_text()

    def refused(field, ctx=applying, command="deploy"):
        emu.reset_log()
        with pytest.raises(InputError) as exc:
            (plan_apply.apply_deploy if command == "deploy" else plan_apply.apply_sync)(ctx, plan_file)
        assert exc.value.exit_code == 2 and exc.value.path == str(plan_file)
        assert f"field {field}:" in exc.value.message, exc.value.message
        assert emu.writes() == []
        plan_file.write_text(good)

    _rewrite(plan_file, lambda d: d["jobs"]["actions"][1]["settings"]["tasks"][0]["notebook_task"].update(
        notebook_path="/Shared/elsewhere"))
    refused("jobs.actions[1]")
    _rewrite(plan_file, lambda d: d["target"].update(host="https://adb-1.azuredatabricks.net"))
    refused("target.host")
    _rewrite(plan_file, lambda d: d["remote_state"].update(digest="0" * 64))
    refused("remote_state.digest")
    _rewrite(plan_file, lambda d: d.pop("selection"))
    refused("selection.only")
    _rewrite(plan_file, lambda d: d["integrity"]["fields"].update({"format": "0" * 64}))
    refused("integrity")
    plan_file.write_text('{"format_version": 4, "terraform_version": "1.9.0", "resource_changes": []}')
    refused("format")
    plan_file.write_text("plan: not json\n")
    refused("format")
    refused("command", command="sync")
    # a plan for another target: another name, or the same name on another workspace
    refused("target.name", ctx=Context(applying.config, applying.config.target("local")))
    other = tmp_path / "other"
    other.mkdir()
    with DatabricksEmulator(token="dapi-plan") as second:
        cfg = load_config(sample_project(other, host=second.url, jobs=2))
        refused("target.host", ctx=Context(cfg, cfg.target("dev")))
    # the untouched plan still applies
    assert plan_apply.apply_deploy(applying, plan_file).plan.counts() == {"create": 2}


def test_toolkit_version_and_local_checkout_are_checked(tmp_path, monkeypatch):
    planning, applying = contexts(tmp_path, None, "local", notebooks=1)
    plan_file = tmp_path / "sync.json"
    plan_sync_to(planning, plan_file)
    _, elsewhere = contexts(tmp_path / "other-checkout", None, "local", notebooks=1)
    with pytest.raises(InputError) as exc:
        plan_apply.apply_sync(elsewhere, plan_file)
    assert "field target.host:" in exc.value.message
    monkeypatch.setattr(plan_apply, "__version__", "9.9.9")
    with pytest.raises(InputError) as exc:
        plan_apply.apply_sync(applying, plan_file)
    assert "field toolkit_version:" in exc.value.message and "9.9.9" in exc.value.message


def test_a_secret_in_the_job_settings_is_never_written(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_API_KEY", "k3y-very-secret")
    cfg_path = sample_project(tmp_path, jobs=1)
    cfg_path.write_text(cfg_path.read_text().replace("variables: {env_name: test}",
                                                     "variables: {env_name: '${MY_API_KEY}'}"))
    cfg = load_config(cfg_path)
    ctx = Context(cfg, cfg.target("local"), dry_run=True)
    result = deploy(ctx)
    from devops_mlops.errors import ConfigError

    with pytest.raises(ConfigError) as exc:
        plan_apply.save_deploy(ctx, result, tmp_path / "deploy.json", prune=False)
    assert "secret" in exc.value.message and "k3y" not in exc.value.one_line()
    assert not (tmp_path / "deploy.json").exists() and not list(tmp_path.glob(".deploy.json.*"))


# ------------------------------------------------------------------ shipped wheels
def test_deploy_plan_bundles_the_wheels_and_the_apply_uploads_exactly_them(tmp_path, monkeypatch):
    import shutil

    from devops_mlops.testing.shipping_project import ARTIFACTS, VOLUME, shipping_project

    def job_writes(emu):
        return emu.requests_by_path(r"/api/2\.\d/jobs/(create|reset|update|delete)$", "POST")

    with DatabricksEmulator(token="dapi-ship") as emu:
        emu.volumes.add_volume(VOLUME)
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-ship")
        cfg = load_config(shipping_project(tmp_path / "p", host=emu.url, tracking_uri="sqlite:///x.db"))
        planning, applying = Context(cfg, cfg.target("dev"), dry_run=True), Context(cfg, cfg.target("dev"))
        plan_file = tmp_path / "plan" / "deploy.json"
        plan_deploy_to(planning, plan_file)
        [art] = json.loads(plan_file.read_text())["artifacts"]
        wheel = plan_file.parent / art["bundled"]
        assert art["bundled"] == f"deploy.artifacts/{art['file']}" and art["path"].startswith(ARTIFACTS)
        assert f"sha256 `{art['sha256']}`" in plan_file.with_suffix(".md").read_text()
        assert emu.writes() == [] and emu.volumes.files == {}
        good = wheel.read_bytes()
        wheel.write_bytes(good + b"x")
        with pytest.raises(InputError) as exc:
            plan_apply.apply_deploy(applying, plan_file)
        assert "field artifacts[0].sha256:" in exc.value.message and emu.writes() == []
        # the package changed after the review, on a fresh agent (no wheels built there)
        (tmp_path / "p" / "src" / "ship_demo" / "extra.py").write_text("X = 1\n")
        shutil.rmtree(tmp_path / "p" / ".mlops" / "artifacts")
        wheel.unlink()  # without the bundle the wheel is built again: another hash, refused
        with pytest.raises(CheckFailed) as exc:
            plan_apply.apply_deploy(applying, plan_file)
        assert "sources build something else now" in exc.value.message
        assert emu.volumes.files == {} and not job_writes(emu)
        wheel.write_bytes(good)  # with it: the reviewed wheel is shipped as it is
        result = plan_apply.apply_deploy(applying, plan_file)
        assert result.plan.counts() == {"create": 1}
        assert emu.volumes.files[art["path"]] == good
        [job_id] = emu.jobs
        assert {"whl": art["path"]} in emu.jobs[job_id]["tasks"][0]["libraries"]
        (tmp_path / "p" / "src" / "ship_demo" / "extra.py").unlink()
        again = deploy(Context(cfg, cfg.target("dev"), dry_run=True))
        assert again.plan.counts() == {"unchanged": 1} and again.shipped.artifacts[0].op == "present"
