"""The lifecycle's work ahead: a real local project, its sqlite registry created by the thread."""

from __future__ import annotations

import sys

from devops_mlops.context import Context
from devops_mlops.ops.ahead import LIBRARIES, Ahead
from devops_mlops.testing import project as sandbox


def test_the_registry_is_opened_and_the_libraries_imported_ahead(tmp_path):
    folder = sandbox.make_project(tmp_path / "proj")
    ctx = Context.create(config_path=folder / "mlops.yaml")
    db = ctx.state_dir / "mlflow.db"
    assert not db.exists()
    ahead = Ahead(ctx, ["json", "no_such_module_for_mlops_tests"]).start()
    ahead.wait_registry()
    assert db.is_file()  # the store and its tables exist before any notebook runs
    ahead.wait()
    assert ahead.imported[: len(LIBRARIES)] == list(LIBRARIES) and "json" in ahead.imported
    assert "no_such_module_for_mlops_tests" not in ahead.imported and "skops.io" in sys.modules
    assert ctx.registry.ensure_experiment("ahead")  # the client opened by the thread serves this one


def test_a_registry_that_cannot_open_is_left_to_the_step_that_needs_it(tmp_path):
    folder = sandbox.make_project(tmp_path / "proj")
    ctx = Context.create(config_path=folder / "mlops.yaml")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store's folder would be", encoding="utf-8")
    ctx.registry.tracking_uri = ctx.registry.registry_uri = f"sqlite:///{blocked / 'mlflow.db'}"
    ahead = Ahead(ctx, []).start()
    ahead.wait()
    assert ahead.registry_ready.is_set() and ctx.registry._client is None
