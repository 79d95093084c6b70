"""mlops deploy over the Databricks adapter + emulator, and the local backend."""

import pytest

from devops_mlops.config import load_config
from devops_mlops.context import Context
from devops_mlops.ops.deploy import deploy
from devops_mlops.testing.databricks_emulator import DatabricksEmulator, sample_project
from devops_mlops.testing.http import Faults


@pytest.fixture
def emu(monkeypatch):
    with DatabricksEmulator(token="dapi-deploy") as e:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-deploy")
        yield e


def ctx_for(tmp_path, emu, target="dev", dry_run=False, **kw):
    cfg = load_config(sample_project(tmp_path, host=emu.url if emu else None, **kw))
    return Context(cfg, cfg.target(target), dry_run=dry_run)


def test_create_then_idempotent(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu, jobs=3)
    result = deploy(ctx)
    assert result.plan.counts() == {"create": 3}
    assert len(emu.jobs_created) == 3
    s = emu.jobs[result.job_ids["job1"]]
    assert s["tags"] == {"mlops_project": "demo", "mlops_job_key": "job1"}
    assert s["tasks"][0]["notebook_task"]["notebook_path"] == "/Shared/demo/nb0"
    assert s["parameters"] == [{"name": "env", "default": "dev"}]
    emu.reset_log()
    assert deploy(ctx).plan.counts() == {"unchanged": 3}
    assert emu.writes() == []


def test_changed_definition_resets_with_diff_and_dry_run(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu)
    deploy(ctx)
    emu.reset_log()
    jobs_yml = tmp_path / "resources" / "jobs.yml"
    jobs_yml.write_text(jobs_yml.read_text().replace('n: "0"', 'n: "7"'))
    dry = Context(ctx.config, ctx.target, dry_run=True)
    plan = deploy(dry).plan
    assert plan.counts() == {"update": 1}
    assert plan.actions[0].diff == ['~ tasks.second.notebook_task.base_parameters.n: "0" -> "7"']
    assert emu.writes() == []
    deploy(ctx)
    assert emu.jobs[1]["tasks"][1]["notebook_task"]["base_parameters"] == {"n": "7"}
    assert len(emu.requests_by_path("/jobs/reset")) == 1


def test_foreign_job_with_same_name_is_never_touched(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu)
    with emu.lock:
        emu.jobs[99] = {"name": "demo-job0-dev", "tasks": []}
        emu.job_meta[99] = {"created_time": 1}
    result = deploy(ctx)
    assert result.plan.counts() == {"create": 1}
    assert result.plan.foreign == [("job0", 99)]
    assert emu.jobs[99] == {"name": "demo-job0-dev", "tasks": []}


def test_prune_deletes_only_our_undefined_jobs(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu, jobs=2)
    deploy(ctx)
    # the two creates run concurrently, so ids follow the arrival order: find ours by tag
    [kept] = emu.jobs_by_tag("mlops_job_key", "job0")
    with emu.lock:
        emu.jobs[99] = {"name": "other", "tags": {"mlops_project": "someone-else", "mlops_job_key": "job1"}}
        emu.job_meta[99] = {"created_time": 1}
    yml = tmp_path / "resources" / "jobs.yml"
    text = yml.read_text()
    yml.write_text(text[: text.index("    job1:")])
    assert deploy(ctx).plan.counts() == {"unchanged": 1, "stale": 1}
    result = deploy(ctx, prune=True)
    assert [a.op for a in result.plan.of("delete")] == ["delete"]
    assert sorted(emu.jobs) == sorted([kept, 99])


def test_lost_create_leaves_no_duplicate(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu)
    emu.faults = Faults(script=["lost"], path_pattern="jobs/create")
    result = deploy(ctx)
    assert len(emu.jobs_created) == 2  # the SDK retried after the lost answer
    assert len(emu.jobs_by_tag("mlops_job_key", "job0")) == 1
    assert result.deduplicated
    emu.reset_log()
    assert deploy(ctx).plan.counts() == {"unchanged": 1}
    assert emu.writes() == []


def test_deploy_converges_under_faults(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu, jobs=4)
    emu.faults = Faults(script=["throttle", "503", "reset", "lost", "throttle"], retry_after=0)
    try:
        deploy(ctx)
    except Exception:
        pass
    deploy(ctx)
    for j in range(4):
        assert len(emu.jobs_by_tag("mlops_job_key", f"job{j}")) == 1
    emu.reset_log()
    assert deploy(ctx).plan.counts() == {"unchanged": 4}


def test_local_backend_stores_jobs(tmp_path):
    ctx = ctx_for(tmp_path, None, target="local", jobs=2)
    assert deploy(ctx).plan.counts() == {"create": 2}
    assert (tmp_path / ".mlops" / "jobs" / "local" / "jobs.json").is_file()
    assert deploy(ctx).plan.counts() == {"unchanged": 2}


# ------------------------------------------------------------------ selective deploy (--job)
@pytest.mark.parametrize("backend", ["emulator", "local"])
def test_selective_deploy_touches_only_the_named_jobs(tmp_path, request, backend):
    emu = request.getfixturevalue("emu") if backend == "emulator" else None
    ctx = ctx_for(tmp_path, emu, target="dev" if emu else "local", jobs=4)
    first = deploy(ctx, only=["job1"])
    assert first.plan.counts() == {"create": 1} and first.plan.only == ["job1"]
    assert list(first.job_ids) == ["job1"]
    yml = tmp_path / "resources" / "jobs.yml"
    yml.write_text(yml.read_text().replace('n: "2"', 'n: "22"').replace('n: "3"', 'n: "33"'))
    everything = deploy(ctx)
    assert everything.plan.counts() == {"unchanged": 1, "create": 3}
    # job3 no longer defined, job2 changed: a selective deploy of job2 updates it and leaves job3 alone
    text = yml.read_text()
    yml.write_text(text[: text.index("    job3:")].replace('n: "22"', 'n: "222"'))
    if emu:
        emu.reset_log()
    picked = deploy(ctx, only=["job2", "job0"], prune=True)
    assert {(a.key, a.op) for a in picked.plan.actions} == {("job2", "update"), ("job0", "unchanged")}
    assert picked.to_json()["only"] == ["job2", "job0"]
    if emu:
        assert len(emu.requests_by_path("/jobs/reset")) == 1 and not emu.requests_by_path("/jobs/delete")
        assert len(emu.jobs_by_tag("mlops_job_key", "job3")) == 1
    stale = deploy(ctx)
    assert {(a.key, a.op) for a in stale.plan.actions if a.op != "unchanged"} == {("job3", "stale")}


def test_unknown_job_is_a_usage_error_naming_the_known_ones(tmp_path, emu):
    from devops_mlops.errors import UsageError

    ctx = ctx_for(tmp_path, emu, jobs=2)
    with pytest.raises(UsageError) as exc:
        deploy(ctx, only=["job1", "nope"])
    assert "'nope'" in exc.value.message and "job0, job1" in exc.value.message
    assert emu.writes() == []


def test_two_deploys_at_once_leave_exactly_one_job_per_key(tmp_path, monkeypatch):
    """Both plan creates; the jobs lock makes the second plan again once the first is done (without
    it each would create the jobs and then delete the other's as duplicates, leaving none)."""
    import threading

    from devops_mlops.ops.deploy import JOBS_LOCK

    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-deploy")
    with DatabricksEmulator(token="dapi-deploy", latency=0.02) as emu:
        cfg = load_config(sample_project(tmp_path, host=emu.url, jobs=3))
        cfg.target("dev").lock.wait = 60.0
        start = threading.Barrier(2)
        results, errors = [], []

        def one() -> None:
            ctx = Context(cfg, cfg.target("dev"))
            start.wait()
            try:
                results.append(deploy(ctx))
            except Exception as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=one) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        assert sorted(len(emu.jobs_by_tag("mlops_job_key", f"job{i}")) for i in range(3)) == [1, 1, 1]
        assert sorted(str(r.plan.counts()) for r in results) == ["{'create': 3}", "{'unchanged': 3}"]
        assert sum(len(r.deduplicated) for r in results) == 0
        leases = [o for o in emu.objects if f"/.mlops-locks/demo/{JOBS_LOCK}/" in o]
        assert leases  # the lock lives in the workspace, where every machine deploying there sees it


def test_a_deploy_meets_a_held_jobs_lock_with_a_conflict_naming_the_holder(tmp_path, emu):
    from devops_mlops.errors import ConflictError
    from devops_mlops.ops.deploy import JOBS_LOCK
    from devops_mlops.ops.lock import Lock, store_for

    ctx = ctx_for(tmp_path, emu, jobs=1)
    holder = Lock(store_for(ctx, JOBS_LOCK), "mlops deploy (elsewhere)", ttl=60).acquire()
    try:
        other = ctx_for(tmp_path, emu, jobs=1)
        emu.reset_log()
        with pytest.raises(ConflictError) as exc:
            deploy(other)
        assert "mlops deploy (elsewhere)" in exc.value.message
        assert emu.requests_by_path("/jobs/create") == []
    finally:
        holder.release()
    assert deploy(ctx).plan.counts() == {"create": 1}
