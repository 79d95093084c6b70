"""`mlops deploy` ships the project's wheel: plan, upload once per hash, wiring, refusals."""

import pytest

from devops_mlops.config import load_config
from devops_mlops.context import Context
from devops_mlops.errors import CheckFailed, InputError
from devops_mlops.ops.deploy import deploy
from devops_mlops.testing.databricks_emulator import DatabricksEmulator
from devops_mlops.testing.shipping_project import ARTIFACTS, VOLUME, shipping_project


@pytest.fixture
def emu(monkeypatch):
    with DatabricksEmulator(token="dapi-ship") as e:
        e.volumes.add_volume(VOLUME)
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-ship")
        yield e


def ctx_for(root, emu, *, dry_run=False, **kw):
    shipping_project(root, host=emu.url, tracking_uri="sqlite:///x.db", **kw)
    return again(root, dry_run=dry_run)


def again(root, *, dry_run=False):
    """A fresh context on the project as it is now (a new `mlops` process)."""
    cfg = load_config(root / "mlops.yaml")
    return Context(cfg, cfg.target("dev"), dry_run=dry_run)


def job_writes(emu):
    return emu.requests_by_path(r"/api/2\.\d/jobs/(create|reset|update|delete)$", "POST")


def test_dry_run_lists_the_artifact_and_its_hash_and_writes_nothing(tmp_path, emu):
    result = deploy(ctx_for(tmp_path, emu, dry_run=True))
    doc = result.to_json()["artifacts"]
    [art] = doc["artifacts"]
    assert art["file"] == "ship_demo-0.1.0-py3-none-any.whl" and art["op"] == "upload"
    assert len(art["sha256"]) == 64 and art["path"] == f"{ARTIFACTS}/{art['sha256'][:16]}/{art['file']}"
    assert doc["toolkit_requirement"] == "devops-mlops==0.1.0"
    assert emu.writes() == [] and emu.volumes.files == {}


def test_upload_once_per_hash_and_a_redeploy_with_nothing_changed_writes_nothing(tmp_path, emu):
    ctx = ctx_for(tmp_path, emu)
    first = deploy(ctx)
    [art] = first.shipped.artifacts
    assert first.shipped.uploaded_bytes == art.size == len(emu.volumes.files[art.remote])
    [job_id] = emu.jobs
    [task] = emu.jobs[job_id]["tasks"]
    assert task["job_cluster_key"] == "mlops_cluster"
    assert task["libraries"] == [{"whl": art.remote}, {"pypi": {"package": "devops-mlops==0.1.0"}}]
    emu.reset_log()
    second = deploy(again(tmp_path))
    assert second.shipped.uploaded_bytes == 0 and second.shipped.artifacts[0].op == "present"
    assert second.plan.counts() == {"unchanged": 1}
    assert emu.volumes.bytes_written() == 0 and job_writes(emu) == [] and emu.writes() == []
    # a change of the package's code: a new wheel, a new path, one job update
    (tmp_path / "src" / "ship_demo" / "data.py").write_text("# changed\n", encoding="utf-8")
    changed = deploy(again(tmp_path))
    assert changed.shipped.artifacts[0].remote != art.remote
    assert changed.plan.counts() == {"update": 1}
    assert emu.jobs[job_id]["tasks"][0]["libraries"][0] == {"whl": changed.shipped.artifacts[0].remote}


def test_a_volume_the_token_cannot_write_exits_1_naming_the_grant_and_changes_no_job(tmp_path, emu):
    emu.volumes.deny("/Volumes/main/ml/artifacts")
    with pytest.raises(CheckFailed) as err:
        deploy(ctx_for(tmp_path, emu))
    assert err.value.exit_code == 1
    assert "permission denied" in err.value.message
    assert "WRITE VOLUME on the volume main.ml.artifacts" in err.value.hint
    assert emu.jobs == {} and job_writes(emu) == []


def test_a_package_that_fails_to_build_exits_2_and_uploads_and_changes_nothing(tmp_path, emu):
    deploy(ctx_for(tmp_path, emu))
    before = {j: dict(s) for j, s in emu.jobs.items()}
    files = dict(emu.volumes.files)
    (tmp_path / "setup.py").write_text("raise SystemExit('setup.py: broken on purpose')\n")
    emu.reset_log()
    with pytest.raises(InputError) as err:
        deploy(again(tmp_path))
    assert err.value.exit_code == 2 and err.value.path == str(tmp_path / "pyproject.toml")
    assert "broken on purpose" in err.value.message
    assert emu.writes() == [] and emu.jobs == before and emu.volumes.files == files


def test_a_workspace_folder_takes_the_wheel_as_a_workspace_file(tmp_path, emu):
    result = deploy(ctx_for(tmp_path, emu, artifacts="/Shared/ship-artifacts"))
    [art] = result.shipped.artifacts
    assert art.remote.startswith("/Workspace/Shared/ship-artifacts/")
    api_path = art.remote[len("/Workspace"):]
    assert emu.objects[api_path].object_type == "FILE"
    assert emu.files[api_path] == open(art.local, "rb").read()
    assert emu.jobs[1]["tasks"][0]["libraries"][0] == {"whl": art.remote}
    emu.reset_log()
    assert deploy(again(tmp_path)).shipped.uploaded_bytes == 0
    assert emu.writes() == []


def test_without_an_artifacts_path_the_jobs_get_nothing_and_a_warning(tmp_path, emu, capsys):
    cfg_path = shipping_project(tmp_path, host=emu.url, tracking_uri="sqlite:///x.db")
    text = cfg_path.read_text()
    cfg_path.write_text(text.replace(f"    artifacts: {{path: {ARTIFACTS}, toolkit: pin}}\n", ""))
    cfg = load_config(cfg_path)
    result = deploy(Context(cfg, cfg.target("dev")))
    assert result.shipped is None
    assert "libraries" not in emu.jobs[1]["tasks"][0]
    assert "no artifacts.path" in capsys.readouterr().err


def test_toolkit_wheel_mode_ships_the_toolkit_built_from_its_checkout(tmp_path, emu):
    result = deploy(ctx_for(tmp_path, emu, toolkit="wheel"))
    kinds = {a.kind: a for a in result.shipped.artifacts}
    assert set(kinds) == {"project", "toolkit"}
    assert kinds["toolkit"].filename == "devops_mlops-0.1.0-py3-none-any.whl"
    assert result.shipped.toolkit_pin is None
    libs = emu.jobs[1]["tasks"][0]["libraries"]
    assert libs == [{"whl": kinds["project"].remote}, {"whl": kinds["toolkit"].remote}]


def test_the_example_ships_its_package_to_every_serverless_notebook_task(tmp_path, emu, monkeypatch):
    import shutil
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "toll-demand"
    shutil.copytree(example, tmp_path / "ex", ignore=shutil.ignore_patterns(".mlops", "__pycache__"))
    monkeypatch.setenv("DATABRICKS_HOST", emu.url)
    cfg = load_config(tmp_path / "ex" / "mlops.yaml")
    result = deploy(Context(cfg, cfg.target("staging"), dry_run=True))
    [art] = result.shipped.artifacts
    assert art.filename == "toll_demand-0.1.0-py3-none-any.whl" and art.op == "upload"
    assert art.remote.startswith("/Volumes/mlops_staging/toll_demand/artifacts/")
    notebook_tasks = [t for a in result.plan.actions for t in a.settings["tasks"] if "notebook_task" in t]
    assert notebook_tasks
    for task in notebook_tasks:  # serverless: the runtime API installs them, once per task
        assert task["notebook_task"]["base_parameters"]["mlops_libraries"] == f"{art.remote} devops-mlops==0.1.0"
    assert emu.writes() == []


def test_uploads_survive_throttling_errors_and_lost_answers(tmp_path, emu):
    from devops_mlops.testing.http import Faults

    emu.faults = Faults(script=["throttle", "503", "reset", "lost"], path_pattern=r"^/api/2\.0/fs/files/",
                        retry_after=0)
    result = deploy(ctx_for(tmp_path, emu))
    [art] = result.shipped.artifacts
    assert len(emu.faults_injected) == 4
    assert emu.volumes.files[art.remote] == open(art.local, "rb").read()
    assert len(emu.jobs) == 1


def test_a_saved_plan_ships_the_wheels_it_names_rebuilt_to_the_same_hash(tmp_path, emu):
    import shutil

    from devops_mlops.ops import plan_apply

    planned = deploy(ctx_for(tmp_path, emu, dry_run=True))
    plan_apply.save_deploy(again(tmp_path, dry_run=True), planned, tmp_path / "plan.json", prune=False)
    [art] = planned.shipped.artifacts
    shutil.rmtree(tmp_path / ".mlops" / "artifacts")  # another agent: the wheel is built again
    plan_apply.apply_deploy(again(tmp_path), tmp_path / "plan.json")
    import hashlib

    assert hashlib.sha256(emu.volumes.files[art.remote]).hexdigest() == art.sha256
    assert len(emu.volumes.files[art.remote]) == art.size
    assert emu.jobs[1]["tasks"][0]["libraries"][0] == {"whl": art.remote}
