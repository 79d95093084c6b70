"""The local Data Factory runner: its expression evaluator, and its control flow over the pipelines
`mlops adf export` generates for this repository's project, with scripted notebooks (no kernels)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devops_mlops.adf.files import export as adf_export
from devops_mlops.context import Context
from devops_mlops.testing import project as sandbox
from devops_mlops.testing.adf_runner import (
    ExpressionError,
    LocalFactory,
    PipelineError,
    Scope,
    evaluate,
    evaluate_expression,
    local_notebook,
)
from devops_mlops.testing.webhook_receiver import WebhookReceiver


def scope(**variables):
    s = Scope(pipeline={"parameters": {"max_retrains": 3, "name": "x"}, "RunId": "r1"}, variables=dict(variables))
    s.activities["check"] = {"output": {"runOutput": {"status": "violation", "metrics": {"mape": 0.3}}}}
    s.activities["plain"] = {"output": {"runOutput": "runs:/abc/model"}}
    return s


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@contains(toLower(string(activity('check').output.runOutput)), 'violation')", True),
        ("@contains(toLower('All OK'), 'violation')", False),
        ("@string(activity('check').output.runOutput)", '{"status":"violation","metrics":{"mape":0.3}}'),
        ("@activity('check').output.runOutput.metrics.mape", 0.3),
        ("@activity('check').output.runOutput['status']", "violation"),
        ("@string(activity('plain').output.runOutput)", "runs:/abc/model"),
        ("@string(add(int(variables('tries')), 1))", "3"),
        ("@or(variables('improved'), greaterOrEquals(int(variables('tries')), pipeline().parameters.max_retrains))", False),
        ("@or(variables('improved'), greaterOrEquals(int('3'), pipeline().parameters.max_retrains))", True),
        ("@not(contains(toLower('{\"status\":\"ok\"}'), 'violation'))", True),
        ("@equals(pipeline().parameters.name, 'x')", True),
        ("@equals(1, '1')", False),
        ("@json('{\"a\": [1, 2]}').a[1]", 2),
        ("@concat('model m: ', variables('tries'), ' tries')", "model m: 2 tries"),
        ("@if(variables('improved'), 'yes', 'no')", "no"),
        ("@pipeline().RunId", "r1"),
        ("@@literal", "@literal"),
        ("no expression", "no expression"),
        ("tries: @{variables('tries')}, run @{pipeline().RunId}", "tries: 2, run r1"),
        ("@string(true)", "True"),
        ("@'it''s'", "it's"),
        ("@createArray(1, 2)", [1, 2]),
        ("@length(createArray(1, 2, 3))", 3),
        ("@null", None),
    ],
)
def test_expressions(text, expected):
    assert evaluate(text, scope(tries="2", improved=False)) == expected


def test_expression_objects_and_nesting():
    s = scope(tries="1", improved=True)
    value = {"value": "@variables('improved')", "type": "Expression"}
    assert evaluate(value, s) is True
    assert evaluate({"a": ["@variables('tries')", {"b": "@@x"}]}, s) == {"a": ["1", {"b": "@x"}]}
    # a card body: JSON text with interpolations stays text
    assert evaluate({"value": '{"text":"@{variables(\'tries\')} tries"}', "type": "Expression"}, s) == '{"text":"1 tries"}'


@pytest.mark.parametrize(
    "text",
    [
        "contains('a'",  # unclosed
        "nosuch(1)",  # unknown function
        "variables('nope')",  # undeclared
        "activity('later').output",  # not run
        "activity('check').output.runOutput.missing",  # no such property
        "int('x')",
        "not('true')",  # not() takes a boolean, not a string
        "add(1)",  # arity
        "contains(1, 'a')",
        "'a' 'b'",  # trailing tokens
        "pipeline().parameters.max_retrains.x",
    ],
)
def test_bad_expressions_raise(text):
    with pytest.raises(ExpressionError):
        evaluate_expression(text, scope(tries="1"))


def test_no_python_eval():
    with pytest.raises(ExpressionError):
        evaluate_expression("__import__('os')", Scope())


# ------------------------------------------------------------------ the exported pipelines, scripted notebooks
@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = sandbox.make_project(
        tmp_path_factory.mktemp("adf") / "proj",
        git=False,
        alerts=[{"kind": "file", "path": ".mlops/alerts.jsonl"}, {"kind": "teams", "url": "${TEAMS_WEBHOOK_URL}"}],
    )
    import os

    os.environ["TEAMS_WEBHOOK_URL"] = "https://example.invalid/teams"
    try:
        ctx = Context.create(config_path=folder / "mlops.yaml", target="production")
        done = adf_export(ctx, folder / "adf")
        assert not done.warnings, done.warnings
    finally:
        del os.environ["TEAMS_WEBHOOK_URL"]
    return folder


class Script:
    """Scripted notebooks: records each call and answers by notebook name."""

    def __init__(self, answers):
        self.answers = answers
        self.calls: list[tuple[str, dict]] = []

    def __call__(self, path: Path, params: dict):
        self.calls.append((path.stem, params))
        answer = self.answers[path.stem]
        value = answer(params) if callable(answer) else answer
        if isinstance(value, Exception):
            return "failed", None, str(value)
        return "passed", value if isinstance(value, str) or value is None else json.dumps(value), None


def factory(folder, script, monkeypatch):
    monkeypatch.setenv("TEAMS_WEBHOOK_URL", "https://example.invalid/teams")
    return LocalFactory(folder / "adf", config_path=folder / "mlops.yaml", target="production",
                        notebook_params={"target": "local"}, notebook_runner=script, max_retry_wait=0)


def names(run, status="Succeeded"):
    return [a.name for a in run.all_activities() if a.status == status]


def test_workspace_paths_map_back_to_the_repository(exported, monkeypatch):
    monkeypatch.setenv("TEAMS_WEBHOOK_URL", "x")
    ctx = Context.create(config_path=exported / "mlops.yaml", target="production")
    assert local_notebook(ctx.config, ctx.target, "/Repos/mlops/toll-demand/notebooks/monitor") == exported / "notebooks/monitor.py"
    with pytest.raises(PipelineError):
        local_notebook(ctx.config, ctx.target, "/Repos/mlops/toll-demand/notebooks/nope")
    with pytest.raises(PipelineError):
        local_notebook(ctx.config, ctx.target, "/Shared/elsewhere/monitor")


def test_in_range_does_not_call_the_retrain_pipeline(exported, monkeypatch):
    script = Script({"monitor": {"mode": "check", "status": "ok", "retrain_needed": False, "out_of_range": []}})
    run = factory(exported, script, monkeypatch).run("monitor_model", {"teams_webhook_url": "http://127.0.0.1:9/x"})
    assert run.status == "Succeeded" and names(run) == ["check", "out_of_range"] and not run.children
    stem, params = script.calls[0]
    assert params["mode"] == "check" and params["target"] == "local" and json.loads(params["metrics"])[0]["name"] == "mape"


def test_a_fix_on_try_two_runs_every_step_with_the_candidate(exported, monkeypatch):
    def recheck(params):
        doc = json.loads(params["candidate"])
        assert params["mode"] == "recheck" and params["attempt"] == str(doc["attempt"])
        return {"mode": "recheck", "status": "ok" if doc["attempt"] == 2 else "violation"}

    script = Script({
        "monitor": lambda p: recheck(p) if p["mode"] == "recheck" else {"status": "violation"},
        "retrain": lambda p: {"candidate": f"runs:/r{p['attempt']}/model", "attempt": int(p["attempt"])},
        "register": {"version": 2}, "promote_candidate": "{}", "commit": "{}", "rescore": "{}",
    })
    run = factory(exported, script, monkeypatch).run("monitor_model", {"teams_webhook_url": "http://127.0.0.1:9/x"})
    assert run.status == "Succeeded", run.error
    assert [c[0] for c in script.calls] == ["monitor", "retrain", "monitor", "retrain", "monitor",
                                            "register", "promote_candidate", "commit", "rescore"]
    for stem, params in script.calls[-4:]:
        assert json.loads(params["candidate"])["candidate"] == "runs:/r2/model" and params["attempt"] == "2"
    child = run.children[0]
    assert child.variables["tries"] == "2" and child.variables["improved"] is True
    assert "alert_teams" not in names(child)


def test_never_fixed_stops_after_max_retrains_alerts_and_fails(exported, monkeypatch):
    with WebhookReceiver() as hook:
        script = Script({
            "monitor": {"status": "violation"},
            "retrain": lambda p: {"candidate": f"runs:/r{p['attempt']}/model"},
        })
        hook.fail_next(500)  # the WebActivity's retry policy sends it again
        run = factory(exported, script, monkeypatch).run(
            "monitor_model", {"teams_webhook_url": hook.url_for("teams"), "max_retrains": 2})
        assert run.status == "Failed" and "needs retraining" in run.error["message"]
        assert [c[0] for c in script.calls] == ["monitor"] + ["retrain", "monitor"] * 2
        card = hook.posts[0]["attachments"][0]["content"]
        assert "2 retraining tries" in card["body"][1]["text"]
        assert names(run, "Failed") == ["out_of_range", "run_retrain", "if_improved", "needs_retraining"]


def test_a_failing_notebook_fails_the_run(exported, monkeypatch):
    script = Script({"monitor": RuntimeError("boom")})
    run = factory(exported, script, monkeypatch).run("monitor_model", {"teams_webhook_url": "x"})
    assert run.status == "Failed" and "boom" in run.error["message"]
    assert names(run, "Skipped") == ["out_of_range"]


def test_parameters_are_checked(exported, monkeypatch):
    f = factory(exported, Script({}), monkeypatch)
    with pytest.raises(PipelineError, match="teams_webhook_url"):
        f.run("monitor_model")
    with pytest.raises(PipelineError, match="nope"):
        f.run("monitor_model", {"teams_webhook_url": "x", "nope": 1})
