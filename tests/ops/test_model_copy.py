"""Promotion across environments: a validated version copied from one target's registry to another's."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from devops_mlops.cli import main
from devops_mlops.config import load_config
from devops_mlops.context import Context

RNG = np.random.default_rng(5)
X = pd.DataFrame({"a": RNG.normal(size=80), "b": RNG.normal(size=80)})
Y = 3 * X.a - 2 * X.b
EVAL = X.assign(y=Y, plaza=range(80))


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> tuple[Path, str]:
    """A project whose staging registry holds a logged version of ``demand`` (made once for the
    module; tests work on copies of it) and that version."""
    import mlflow

    root = tmp_path_factory.mktemp("prepared")
    state = root / ".mlops"
    state.mkdir()
    (root / "mlops.yaml").write_text(
        "project: demo\nmodel: {name: demand, label: y, keys: [plaza], primary_metric: rmse}\n"
        "promotion:\n  thresholds: {rmse: {max: 1.0}}\n  evaluation_data: eval\n"
        "targets:\n"
        f"  staging: {{default: true, tracking_uri: 'sqlite:///{state}/staging.db'}}\n"
        f"  production:\n    tracking_uri: 'sqlite:///{state}/production.db'\n    model: {{name: demand-prod}}\n"
        f"  twin: {{tracking_uri: 'sqlite:///{state}/staging.db'}}\n")
    mlflow_env = {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        mp.chdir(root)  # MLflow's default artifact root: ./mlruns
        cfg = load_config(root / "mlops.yaml")
        staging = Context(cfg, cfg.target("staging"))
        staging.tables.append("eval", EVAL)
        model = LinearRegression().fit(X, Y)
        mv = staging.registry.log_sklearn_model(model, "demand", X=X, tags={"mlops.git_commit": "c0ffee" * 6 + "abcd"})
    # the registry exported its URIs into this process: the tests (and the suite's per-test reset,
    # which restores what it found) must not start from the prepared folder's registry
    for name in [k for k in os.environ if k.startswith("MLFLOW_") and k not in mlflow_env]:
        del os.environ[name]
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    return root, mv.version


@pytest.fixture
def project(prepared, tmp_path, monkeypatch):
    """A copy of the prepared project in this test's folder (its registries are files in .mlops/;
    the logged model's artifacts stay, read-only, in the prepared folder), cwd there."""
    base, version = prepared
    shutil.copytree(base, tmp_path, dirs_exist_ok=True)
    config = tmp_path / "mlops.yaml"
    config.write_text(config.read_text().replace(str(base), str(tmp_path)))
    monkeypatch.chdir(tmp_path)
    return tmp_path, version


def run(args, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def test_a_version_is_copied_gated_and_promoted_once(project, capsys):
    root, version = project
    code, out, err = run(["--target", "production", "--format", "json", "model", "promote", "--from", "staging",
                          "--version", str(version), "--to", "production"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["copy"]["how"] == "download and register" and doc["copy"]["model"] == "demand-prod"
    assert doc["changed"] and doc["gate"]["passed"] and doc["version"] == doc["copy"]["version"]
    cfg = load_config(root / "mlops.yaml")
    prod = Context(cfg, cfg.target("production"))
    copy = prod.registry.get_version("demand-prod", doc["copy"]["version"])
    assert "champion" in copy.aliases
    assert copy.tags["mlops.source.version"] == str(version) and copy.tags["mlops.source.target"] == "staging"
    assert copy.tags["mlops.git_commit"].startswith("c0ffee")
    predictions = prod.registry.load_model("demand-prod", copy.version).predict(X.head(3))
    assert np.allclose(predictions, Y.head(3), atol=1e-6)
    # again: the copy is found by its source tag, nothing is written
    code, out, err = run(["--target", "production", "--format", "json", "model", "promote", "--from", "staging",
                          "--version", str(version), "--to", "production"], capsys)
    again = json.loads(out)
    assert code == 0 and again["copy"]["how"] == "already copied" and again["changed"] is False
    assert len(prod.registry.get_model("demand-prod")) == 1


def test_dry_run_copies_nothing(project, capsys):
    root, version = project
    code, out, _ = run(["--target", "production", "--dry-run", "model", "promote", "--from", "staging",
                        "--version", str(version), "--to", "production"], capsys)
    assert code == 0 and "would copy: staging demand version 1 -> demand-prod" in out
    cfg = load_config(root / "mlops.yaml")
    with pytest.raises(Exception, match="demand-prod"):
        Context(cfg, cfg.target("production")).registry.get_model("demand-prod")


@pytest.mark.parametrize("source", ["twin", "staging"])
def test_from_the_same_registry_and_model_is_a_usage_error(project, capsys, source):
    code, _, err = run(["--target", "staging" if source == "staging" else "twin", "model", "promote", "--from",
                        source if source == "twin" else "staging", "--version", "1", "--to", "production"], capsys)
    assert code == 2 and err.startswith("error: ") and "without --from" in err and "Traceback" not in err


def test_across_environments_copy_makes_from_the_default(project, capsys):
    root, version = project
    cfg = root / "mlops.yaml"
    cfg.write_text(cfg.read_text().replace("  evaluation_data: eval\n",
                                           "  evaluation_data: eval\n  across_environments: copy\n"))
    code, out, err = run(["--target", "production", "--format", "json", "model", "promote",
                          "--version", str(version), "--to", "production"], capsys)
    assert code == 0, err
    assert json.loads(out)["copy"]["how"] == "download and register"
    # on the source target itself the promotion is a plain one
    code, out, err = run(["--target", "staging", "--format", "json", "model", "promote",
                          "--version", str(version), "--to", "staging"], capsys)
    assert code == 0 and "copy" not in json.loads(out)
