"""The promotion gate over the in-memory registry, tables and artifact store: candidate and
production scored on the same rows (a table, or a file in a volume), the gate decided."""

from __future__ import annotations

import pandas as pd
import pytest

from devops_mlops.context import Context
from devops_mlops.errors import InputError
from devops_mlops.ops.model_validate import validate
from devops_mlops.testing.fakes.artifacts import FakeArtifactStore
from devops_mlops.testing.fakes.registry import FakeRegistry
from devops_mlops.testing.fakes.tables import FakeTables

pytestmark = pytest.mark.fast

EVAL = pd.DataFrame({"k": ["a", "b", "c", "d"], "x": [1.0, 2.0, 3.0, 4.0], "y": [2.0, 4.0, 6.0, 8.0]})
VOLUME_FILE = "/Volumes/main/ml/data/eval.csv"


class Times:
    """A fitted model of the simplest kind: ``factor`` times its one input."""

    def __init__(self, factor: float):
        self.factor = factor

    def predict(self, frame):
        return (self.factor * frame["x"]).to_numpy()


def project(tmp_path, evaluation_data: str) -> Context:
    (tmp_path / "mlops.yaml").write_text(
        "project: p\nmodel: {name: m, label: y, keys: [k]}\n"
        f"promotion: {{evaluation_data: {evaluation_data}, thresholds: {{rmse: {{max: 1.0}}}}}}\n"
        "targets:\n  local: {default: true}\n"
        "  staging: {backend: databricks, host: https://adb.example, workspace_dir: /Shared/p}\n")
    return Context.create(config_path=tmp_path / "mlops.yaml")


def register(registry: FakeRegistry, factor: float) -> int:
    logged = registry.log_training_run(Times(factor), sample=EVAL[["x"]], experiment="p", run_name="train",
                                       params={}, metrics={}, tags={})
    return registry.register(logged.model_uri, "m")


def test_a_better_candidate_passes_against_production_on_the_table(tmp_path):
    ctx = project(tmp_path, "eval_rows")
    ctx.tables, ctx.registry = FakeTables(), FakeRegistry()
    ctx.tables.append("eval_rows", EVAL)
    ctx.registry.assign("m", "production", register(ctx.registry, 1.5))
    result = validate(ctx, register(ctx.registry, 2.0))
    assert result.passed and (result.version, result.production_version, result.rows) == (2, 1, 4)
    assert result.candidate_metrics["rmse"] == 0.0 and result.production_metrics["rmse"] > 1.0
    assert result.evaluation == "table eval_rows"


def test_a_worse_candidate_fails_the_threshold(tmp_path):
    ctx = project(tmp_path, "eval_rows")
    ctx.tables, ctx.registry = FakeTables(), FakeRegistry()
    ctx.tables.append("eval_rows", EVAL)
    assert not validate(ctx, register(ctx.registry, 1.0)).passed


def test_evaluation_data_in_a_volume_comes_through_the_artifact_store(tmp_path):
    ctx = project(tmp_path, VOLUME_FILE).for_target("staging")
    ctx.registry = FakeRegistry()
    ctx.artifacts = FakeArtifactStore({VOLUME_FILE: EVAL.to_csv(index=False).encode()})
    result = validate(ctx, register(ctx.registry, 2.0))
    assert result.passed and result.evaluation == f"file {VOLUME_FILE}" and result.rows == 4
    ctx.artifacts = FakeArtifactStore()
    with pytest.raises(InputError, match="no file /Volumes/main/ml/data/eval.csv in the volume"):
        validate(ctx, 1)
