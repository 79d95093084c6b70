"""Shipping wheels into the artifact store port, over the in-memory store: once per hash,
nothing in a dry run, a saved plan's bundled wheels put as planned, refusals named."""

from __future__ import annotations

import hashlib

import pytest

from devops_mlops.context import Context
from devops_mlops.core.artifacts import Artifact, remote_path
from devops_mlops.errors import CheckFailed
from devops_mlops.ops.artifacts import ShipPlan, upload, upload_planned
from devops_mlops.testing.fakes.artifacts import FakeArtifactStore

pytestmark = pytest.mark.fast

VOLUME = "/Volumes/main/ml/artifacts"
WHEEL = b"PK\x03\x04 a wheel"


@pytest.fixture
def ctx(tmp_path):
    (tmp_path / "mlops.yaml").write_text(
        "project: p\nmodel: {name: m}\ntargets:\n  dev:\n    backend: databricks\n    host: https://adb.example\n"
        f"    workspace_dir: /Shared/p\n    artifacts: {{path: {VOLUME}}}\n")
    ctx = Context.create(config_path=tmp_path / "mlops.yaml", target="dev")
    ctx.artifacts = FakeArtifactStore()
    return ctx


def wheel(tmp_path, op: str) -> Artifact:
    local = tmp_path / "p-0.1.0-py3-none-any.whl"
    local.write_bytes(WHEEL)
    sha = hashlib.sha256(WHEEL).hexdigest()
    return Artifact("project", "p", "0.1.0", local.name, sha, len(WHEEL), str(local),
                    remote_path(VOLUME, sha, local.name), op=op)


def test_upload_puts_only_what_is_missing(ctx, tmp_path):
    missing, there = wheel(tmp_path, "upload"), wheel(tmp_path, "present")
    there.remote = f"{VOLUME}/0000000000000000/other.whl"
    plan = ShipPlan(VOLUME, [missing, there])
    upload(ctx, plan)
    assert ctx.artifacts.puts == [missing.remote] and ctx.artifacts.files[missing.remote] == WHEEL
    assert plan.uploaded_bytes == len(WHEEL)


def test_a_dry_run_puts_nothing(ctx, tmp_path):
    ctx.dry_run = True
    upload(ctx, ShipPlan(VOLUME, [wheel(tmp_path, "upload")]))
    assert upload_planned(ctx, [{"path": f"{VOLUME}/x/p.whl", "file": "p.whl", "sha256": "0" * 64}]) == 0
    assert ctx.artifacts.puts == []


def test_a_saved_plan_puts_its_bundled_wheel_once(ctx, tmp_path):
    art = wheel(tmp_path, "upload")
    entry = {"path": art.remote, "file": art.filename, "sha256": art.sha256, "bundled_file": art.local}
    assert upload_planned(ctx, [entry]) == len(WHEEL)
    assert upload_planned(ctx, [entry]) == 0  # the same bytes are there already
    assert ctx.artifacts.puts == [art.remote]


def test_a_store_that_refuses_the_write_stops_the_upload(ctx, tmp_path):
    ctx.artifacts = FakeArtifactStore(denied=(VOLUME,))
    with pytest.raises(CheckFailed, match="permission denied"):
        upload(ctx, ShipPlan(VOLUME, [wheel(tmp_path, "upload")]))
