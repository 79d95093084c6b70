"""The model use cases over real MLflow (sqlite under .mlops/) and real Delta tables."""

import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, Ridge

from devops_mlops.config import load_config
from devops_mlops.context import Context
from devops_mlops.errors import CheckFailed, ConflictError, ServiceError, UsageError
from devops_mlops.ops.model import promote, promotions_log, rollback, status, validate

RNG = np.random.default_rng(3)
X = pd.DataFrame({"a": RNG.normal(size=120), "b": RNG.normal(size=120)})
Y = 3 * X.a - 2 * X.b + RNG.normal(scale=0.1, size=120)
EVAL = X.assign(y=Y, plaza=range(120))

CONFIG = """\
project: demo
model: {name: toll, label: y, keys: [plaza], primary_metric: rmse}
promotion:
  scheme: SCHEME
  thresholds: {rmse: {max: 2.0}, r2: {min: 0.0}}
  evaluation_data: eval
"""


@pytest.fixture(autouse=True)
def _no_telemetry(monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.delenv("BUILD_BUILDID", raising=False)


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory):
    """A migrated, empty MLflow sqlite store, copied into every project (migrations take seconds)."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


def make_project(tmp_path, store, scheme="aliases", git=False):
    (tmp_path / "mlops.yaml").write_text(CONFIG.replace("SCHEME", scheme))
    (tmp_path / ".mlops").mkdir()
    shutil.copy(store, tmp_path / ".mlops" / "mlflow.db")
    if git:
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
        subprocess.run(["git", "-C", str(tmp_path), "add", "mlops.yaml"], check=True)
        subprocess.run(["git", "-C", str(tmp_path), "commit", "-qm", "init"], check=True)
    config = load_config(tmp_path / "mlops.yaml")
    ctx = Context(config, config.target())
    ctx.tables.append("eval", EVAL)
    return ctx


def register(ctx, alpha):
    """A version: larger alpha = worse model (alpha 1e4 predicts ~ the mean: fails r2 >= 0)."""
    model = (Ridge(alpha=alpha) if alpha else LinearRegression()).fit(X, Y)
    return ctx.registry.log_sklearn_model(model, "toll", X=X, metrics={"rmse": 9.9}).version


@pytest.fixture
def ctx(tmp_path, empty_store):
    return make_project(tmp_path, empty_store)


def test_validate_on_the_evaluation_table_against_production(ctx):
    v_bad, v_good = register(ctx, 50.0), register(ctx, 0)
    first = validate(ctx, v_bad)
    assert first.passed and first.production_version is None and first.evaluation == "table eval"
    assert first.candidate_metrics["rmse"] < 2.0 and first.rows == 120  # computed, not the logged 9.9
    promote(ctx, v_bad, "production")
    better = validate(ctx, v_good)
    assert better.passed and better.production_version == v_bad
    assert better.gate.rows[0].improvement > 0
    worse = validate(ctx, v_bad, eval_frame=EVAL.head(60))
    assert worse.passed  # the production model against itself: no regression
    assert promote(ctx, v_good, "production").changed
    assert not validate(ctx, v_bad).passed  # now worse than production


def test_failed_gate_raises_and_changes_nothing(ctx):
    v1, v_awful = register(ctx, 0), register(ctx, 1e5)
    promote(ctx, v1, "production")
    with pytest.raises(
        CheckFailed, match=r"failed the gate for production: rmse: .* is above the maximum 2; rmse: .* is worse than"
    ) as err:
        promote(ctx, v_awful, "production")
    assert err.value.exit_code == 1
    assert ctx.registry.holder("toll", "production").version == v1
    assert len(promotions_log(ctx, "toll")) == 1
    assert "mlops.production.promoted_by" not in ctx.registry.get_version("toll", v_awful).tags


def test_promote_records_tags_and_log_and_forced(tmp_path, empty_store, monkeypatch):
    ctx = make_project(tmp_path, empty_store, git=True)
    monkeypatch.setenv("BUILD_REQUESTEDFOR", "Ada Lovelace")
    monkeypatch.setenv("BUILD_BUILDID", "4711")
    v1, v_awful = register(ctx, 0), register(ctx, 1e5)
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    first = promote(ctx, v1, "production")
    assert first.changed and first.previous is None and first.gate.passed
    forced = promote(ctx, v_awful, "production", force=True)
    assert forced.forced and forced.gate is None and forced.previous == v1
    tags = ctx.registry.get_version("toll", v_awful).tags
    assert tags["mlops.production.promoted_by"] == "Ada Lovelace"
    assert tags["mlops.production.pipeline_run_id"] == "4711"
    assert tags["mlops.production.git_commit"] == head
    assert tags["mlops.production.previous_version"] == str(v1)
    assert tags["mlops.production.gate"] == "skipped" and tags["mlops.production.forced"] == "true"
    log = promotions_log(ctx, "toll", "production")
    assert log["version"].tolist() == [v1, v_awful]
    assert log["previous_version"].isna().tolist() == [True, False]
    assert log["forced"].tolist() == [False, True] and log["gate"].tolist() == ["passed", "skipped"]
    assert set(log["promoted_by"]) == {"Ada Lovelace"} and set(log["git_commit"]) == {head}
    assert ctx.tables.location("promotions") == str(tmp_path / ".mlops" / "tables" / "promotions")


def test_promoting_the_holder_changes_nothing(ctx):
    v1 = register(ctx, 0)
    promote(ctx, v1, "staging")
    again = promote(ctx, v1, "staging")
    assert not again.changed and "already holds staging" in again.message
    assert len(promotions_log(ctx, "toll")) == 1


def test_dry_run_changes_nothing(ctx):
    v1 = register(ctx, 0)
    ctx.dry_run = True
    plan = promote(ctx, v1, "production")
    assert plan.dry_run and not plan.changed and "would give production" in plan.message
    assert ctx.registry.holder("toll", "production") is None and not ctx.tables.exists("promotions")


def test_rollback_walks_back_through_the_log(ctx):
    v1, v2, v3 = register(ctx, 0), register(ctx, 0), register(ctx, 0)
    with pytest.raises(UsageError, match="nothing holds production"):
        rollback(ctx)
    for v in (v1, v2, v3):
        promote(ctx, v, "production", force=True)
    assert rollback(ctx).version == v2
    assert ctx.registry.holder("toll", "production").version == v2
    assert rollback(ctx).version == v1
    with pytest.raises(UsageError, match="no previous holder of production") as err:
        rollback(ctx)
    assert err.value.exit_code == 2
    log = promotions_log(ctx, "toll", "production")
    assert log["action"].tolist() == ["promote"] * 3 + ["rollback"] * 2
    assert "mlops.production.rolled_back_by" in ctx.registry.get_version("toll", v1).tags


def test_stale_validation_is_a_conflict(ctx):
    v1, v2, v3 = register(ctx, 0), register(ctx, 0), register(ctx, 0)
    promote(ctx, v1, "production")
    checked = validate(ctx, v2)  # compared against v1
    promote(ctx, v3, "production")  # meanwhile someone else promotes
    with pytest.raises(ConflictError, match="gate compared against version 1"):
        promote(ctx, v2, "production", validation=checked)
    assert ctx.registry.holder("toll", "production").version == v3


def test_stages_scheme(tmp_path, empty_store):
    ctx = make_project(tmp_path, empty_store, scheme="stages")
    v1, v2 = register(ctx, 0), register(ctx, 0)
    promote(ctx, v1, "production")
    promote(ctx, v2, "production")
    assert ctx.registry.get_version("toll", v1).stage == "Archived"
    assert rollback(ctx).version == v1
    assert ctx.registry.holder("toll", "production").version == v1


def test_status_lists_versions_holders_and_metrics(ctx):
    v1, v2 = register(ctx, 0), register(ctx, 0)
    promote(ctx, v1, "production")
    promote(ctx, v2, "staging")
    result = status(ctx)
    assert result.holders == {"staging": v2, "production": v1}
    assert [v["version"] for v in result.versions] == [v2, v1]
    assert result.versions[1]["slots"] == ["production"] and result.versions[1]["metrics"] == {"rmse": 9.9}
    assert result.metrics == ["rmse", "r2"] and result.versions[0]["run_id"]


def test_unknown_model_and_version(ctx):
    with pytest.raises(ServiceError, match="model nope"):
        status(ctx, model="nope")
    register(ctx, 0)
    with pytest.raises(ServiceError, match="version 42"):
        promote(ctx, 42, "production")
    with pytest.raises(UsageError, match="unknown slot"):
        promote(ctx, 1, "prod")


RACER = textwrap.dedent(
    """
    import sys
    from devops_mlops.config import load_config
    from devops_mlops.context import Context
    from devops_mlops.errors import MlopsError
    from devops_mlops.ops.model import promote

    config = load_config(sys.argv[1])
    ctx = Context(config, config.target())
    try:
        promote(ctx, int(sys.argv[2]), "production")
        print("won")
    except MlopsError as exc:
        print(type(exc).__name__, exc.one_line())
    """
)


def test_two_promotions_at_once(tmp_path, empty_store):
    ctx = make_project(tmp_path, empty_store)
    v1, v2, v3, v_awful = register(ctx, 0), register(ctx, 0), register(ctx, 0), register(ctx, 1e5)
    promote(ctx, v1, "production")
    script = tmp_path / "racer.py"
    script.write_text(RACER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / "mlops.yaml"), str(v)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for v in (v2, v3, v_awful)
    ]
    outcomes = {}
    for v, p in zip((v2, v3, v_awful), procs):
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outcomes[v] = out.strip().splitlines()[-1]
    assert outcomes[v_awful].startswith("CheckFailed")
    winners = [v for v in (v2, v3) if outcomes[v] == "won"]
    losers = [v for v in (v2, v3) if outcomes[v] != "won"]
    assert winners, outcomes
    for v in losers:
        assert outcomes[v].startswith("ConflictError"), outcomes
    holder = ctx.registry.holder("toll", "production").version
    assert holder in winners and holder != v_awful
    log = promotions_log(ctx, "toll", "production")
    assert log["version"].tolist()[-1] == holder and len(log) == 1 + len(winners)


def test_where_tables_cannot_be_reached_the_log_lives_in_the_registry(ctx):
    """A pipeline agent on a Databricks target writes no Delta table: the same history, as model tags."""
    from devops_mlops.ops.promotion_log import TAG_PREFIX, RegistryLog

    ctx._promotion_log = RegistryLog(ctx)
    v1, v2, v3 = register(ctx, 0), register(ctx, 0), register(ctx, 0)
    for v in (v1, v2, v3):
        promote(ctx, v, "production", force=True)
    promote(ctx, v1, "staging", force=True)
    assert rollback(ctx).version == v2
    log = promotions_log(ctx, "toll", "production")
    assert log["version"].tolist() == [v1, v2, v3, v2]
    assert log["previous_version"].tolist()[1:] == [v1, v2, v3] and log["previous_version"].isna().tolist()[0]
    assert log["action"].tolist() == ["promote"] * 3 + ["rollback"]
    assert promotions_log(ctx, "toll", "staging")["version"].tolist() == [v1]
    tags = [k for k in ctx.registry.model_tags("toll") if k.startswith(TAG_PREFIX)]
    assert len(tags) == 5 and not ctx.tables.exists("promotions")
    assert promote(ctx, v2, "production").changed is False  # the holder: nothing to record


def test_a_databricks_target_without_reachable_tables_uses_the_registry_log(tmp_path, monkeypatch):
    from devops_mlops.ops.promotion_log import RegistryLog, log_for

    (tmp_path / "mlops.yaml").write_text(
        "project: demo\nmodel: {name: toll}\ntargets:\n  staging:\n    backend: databricks\n"
        "    host: http://127.0.0.1:9\n    workspace_dir: /Shared/demo\n")
    config = load_config(tmp_path / "mlops.yaml")
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    assert isinstance(log_for(Context(config, config.target("staging"))), RegistryLog)


@pytest.mark.parametrize("first", [True, False])
def test_a_promotion_whose_record_cannot_be_written_gives_the_slot_back(ctx, first):
    """The log row is part of the promotion: when it cannot be written, the slot returns to its holder."""
    v1, v2 = register(ctx, 0), register(ctx, 0)
    if not first:
        promote(ctx, v1, "production", force=True)
    else:
        promote(ctx, v1, "staging", force=True)  # the promotions table exists
    log = ctx.tables.location("promotions")
    for entry in (ctx.root / ".mlops" / "tables" / "promotions" / "_delta_log").iterdir():
        entry.write_text("{not json")  # a promotions table nobody can append to
    with pytest.raises(Exception):
        promote(ctx, v2, "production", force=True)
    holder = ctx.registry.holder("toll", "production")
    assert (holder.version if holder else None) == (None if first else v1), log
