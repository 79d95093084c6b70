"""`mlops model ...` end to end in-process over a real sqlite MLflow store."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, Ridge

from devops_mlops.cli import main
from devops_mlops.config import load_config
from devops_mlops.context import Context

X = pd.DataFrame({"a": np.linspace(0, 1, 60), "b": np.cos(np.arange(60))})
Y = 2 * X.a + X.b


@pytest.fixture(autouse=True)
def _no_telemetry(monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("proj")
    (root / "mlops.yaml").write_text(
        "project: demo\nmodel: {name: toll, label: y}\n"
        "promotion: {thresholds: {rmse: {max: 0.5}}, evaluation_data: eval}\n"
    )
    config = load_config(root / "mlops.yaml")
    ctx = Context(config, config.target())
    ctx.tables.append("eval", X.assign(y=Y))
    ctx.registry.log_sklearn_model(LinearRegression().fit(X, Y), "toll", X=X)  # v1: good
    ctx.registry.log_sklearn_model(Ridge(alpha=1e4).fit(X, Y), "toll", X=X)  # v2: fails rmse <= 0.5
    ctx.registry.log_sklearn_model(LinearRegression().fit(X, Y), "toll", X=X)  # v3: as good as v1
    return root


def run(project, capsys, *args):
    with pytest.raises(SystemExit) as done:
        main(["--config", str(project / "mlops.yaml"), *args])
    out, err = capsys.readouterr()
    return done.value.code, out, err


def test_the_model_commands(project, capsys):
    code, out, err = run(project, capsys, "model", "validate", "--version", "2")
    assert code == 1 and "FAIL" in out and "failed: version 2 of toll failed the gate: rmse:" in err
    assert "Traceback" not in err

    code, out, _ = run(project, capsys, "model", "promote", "--version", "2", "--to", "production")
    assert code == 1

    code, out, _ = run(project, capsys, "--dry-run", "model", "promote", "--version", "1", "--to", "production")
    assert code == 0 and "dry run: would give production of toll to version 1 (now nobody)" in out

    code, out, _ = run(project, capsys, "model", "promote", "--version", "1", "--to", "production")
    assert code == 0 and "production of toll: nobody -> version 1" in out

    code, out, _ = run(project, capsys, "model", "promote", "--version", "1", "--to", "production")
    assert code == 0 and "already holds production; nothing changed" in out

    code, out, _ = run(project, capsys, "--format", "json", "model", "promote", "--version", "3", "--to", "production")
    doc = json.loads(out)
    assert code == 0 and doc["changed"] and doc["previous"] == 1 and doc["gate"]["passed"]

    code, out, _ = run(project, capsys, "--format", "json", "model", "status")
    doc = json.loads(out)
    assert doc["holders"] == {"staging": None, "production": 3} and len(doc["versions"]) == 3

    code, out, _ = run(project, capsys, "model", "status")
    assert code == 0 and "production: v3" in out and "version  slot" in out

    code, out, _ = run(project, capsys, "model", "rollback")
    assert code == 0 and "version 3 -> version 1 (rolled back)" in out

    code, out, err = run(project, capsys, "model", "rollback", "--to", "production")
    assert code == 2 and "error: no previous holder of production" in err


def test_user_mistakes_exit_2_in_one_line(project, capsys):
    code, _, err = run(project, capsys, "model", "promote", "--version", "99", "--to", "staging")
    assert code == 2 and err.count("\n") == 1 and "version 99" in err
    code, _, err = run(project, capsys, "model", "status", "--model", "nope")
    assert code == 2 and "model nope" in err
    code, _, err = run(project, capsys, "model", "promote", "--version", "1", "--to", "prod")
    assert code == 2


def test_help_and_cli_modules_do_not_import_mlflow():
    code = (
        "import sys, devops_mlops.cli.model, devops_mlops.ops.model, devops_mlops.core.metrics; "
        "bad = [m for m in ('mlflow', 'deltalake', 'pandas') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    out = subprocess.run(
        [sys.executable, "-m", "devops_mlops", "model", "--help"], check=True, capture_output=True, text=True
    ).stdout
    assert "promote" in out and "rollback" in out
