"""The training session and the retrain candidate's steps over the in-memory tables and registry."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from devops_mlops.context import Context
from devops_mlops.errors import InputError
from devops_mlops.ops import candidates
from devops_mlops.ops.session import Session
from devops_mlops.ops.tables import METRICS
from devops_mlops.runtime import api
from devops_mlops.testing.fakes.registry import FakeRegistry
from devops_mlops.testing.fakes.tables import FakeTables

pytestmark = pytest.mark.fast

COMMIT = "c0ffee" * 6 + "c0fe"


class Mean:
    """A fitted model of the simplest kind: predicts the mean it was given."""

    def __init__(self, value: float):
        self.value = value

    def predict(self, frame):
        return [self.value] * len(frame)


@pytest.fixture
def s(tmp_path, monkeypatch):
    monkeypatch.setenv("BUILD_SOURCEVERSION", COMMIT)  # the commit a pipeline builds
    (tmp_path / "mlops.yaml").write_text(
        "project: p\nmodel: {name: m, label: y, keys: [k], features_table: feats, labels_table: ys}\n"
        "data: {anything: [1, 2]}\n"
    )
    ctx = Context.create(config_path=tmp_path / "mlops.yaml")
    ctx.tables, ctx.registry = FakeTables(), FakeRegistry()
    return Session(ctx)


def frame(batch: int, n: int = 3, value: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame({"k": [f"{batch}-{i}" for i in range(n)], "batch_id": [batch] * n, "x": [value] * n})


def test_batches_are_replaced_not_appended(s):
    assert s.batches("feats") == [] and s.labelled_batches() == []
    s.replace("feats", pd.concat([frame(0), frame(1)]), [0, 1])
    s.replace("feats", frame(1, n=2, value=5.0), [1])
    assert s.batches("feats") == [0, 1] and len(s.tables.rows("feats")) == 5
    assert set(s.read("feats", [1])["x"]) == {5.0}
    assert list(s.read("feats", [0], columns=["x"]).columns) == ["x"]
    s.replace("ys", pd.DataFrame({"k": ["0-0"], "batch_id": [0], "y": [2.0]}), [0])
    assert s.labelled_batches() == [0]
    assert (s.model_name, s.features_table, s.labels_table, s.label, s.keys) == ("m", "feats", "ys", "y", ["k"])
    assert s.data == {"anything": [1, 2]} and s.experiment_name == "p"


def test_transform_refuses_an_empty_source(s):
    s.replace("feats", frame(3), [3])
    rows, out = s.transform("feats", "doubled", lambda f: f.assign(x=f["x"] * 2), [3], missing="none")
    assert len(rows) == len(out) == 3 and set(s.read("doubled", [3])["x"]) == {2.0}
    with pytest.raises(InputError, match="nothing for 9"):
        s.transform("feats", "doubled", lambda f: f, [9], missing="nothing for 9")


def test_log_model_logs_one_run_in_the_project_experiment_and_registers(s):
    registry = s.ctx.registry
    sample = frame(2).drop(columns=["k", "batch_id"])
    result = s.log_model(Mean(1.5), sample=sample, metrics={"rmse": 1}, params={"depth": 3}, train_batches=[0, 1],
                         eval_batch=2, window=("2024-01-01", "2024-01-28"), tags={"own": "tag"}, register=True)
    run = registry.run(result.run_id)
    assert registry.active_experiment == "p" and result.model_uri == f"runs:/{result.run_id}/model"
    assert run.tags == {"mlops.project": "p", "mlops.stage": "train", "mlops.train_window": "2024-01-01..2024-01-28",
                        "mlops.train_batches": "0,1", "mlops.eval_batch": "2", "own": "tag",
                        "mlops.git_commit": COMMIT}
    assert run.params == {"depth": "3", "features": "1"} and result.metrics == {"rmse": 1.0}
    assert (result.rows, result.inputs, result.version) == (3, ["x"], 1)
    assert registry.version_tags("m", 1) == {"mlops.train_batches": "0,1", "mlops.eval_batch": "2",
                                             "mlops.git_commit": COMMIT, "mlops.metric.rmse": "1"}
    assert json.loads(json.dumps(result.to_dict()))["version"] == 1
    unregistered = s.log_model(Mean(2.0), sample=sample, metrics={})
    assert unregistered.version is None and registry.versions_of("m") == [1]
    assert s.register(unregistered.model_uri, tags={"t": "v"}) == 2 and registry.version_tags("m", 2) == {"t": "v"}


def test_the_notebook_session_is_the_use_cases_session(s):
    notebook = api.session(ctx=s.ctx)
    assert isinstance(notebook, Session) and notebook.model_name == "m"
    assert api.TrainResult is type(notebook.log_model(Mean(0.0), sample=frame(0)[["x"]], metrics={}))


def test_parse_candidate_takes_json_uris_run_ids_and_versions():
    doc = candidates.parse_candidate('{"candidate": "runs:/abc/model", "eval_batch": 7}')
    assert (doc["candidate"], doc["run_id"], doc["eval_batch"]) == ("runs:/abc/model", "abc", 7)
    assert candidates.parse_candidate("models:/m/3") == {"candidate": "models:/m/3", "version": 3}
    assert candidates.parse_candidate("4") == {"version": 4, "candidate": None}
    assert candidates.parse_candidate("abc")["candidate"] == "runs:/abc/model"
    for bad, message in (("", "empty"), ("{nope", "not valid JSON"), ('{"attempt": 1}', "no model URI")):
        with pytest.raises(InputError, match=message):
            candidates.parse_candidate(bad)


def test_a_candidate_is_found_by_its_tag_its_run_or_its_version(s):
    first = s.log_model(Mean(1.0), sample=frame(0)[["x"]], metrics={})
    second = s.log_model(Mean(2.0), sample=frame(0)[["x"]], metrics={})
    s.register(second.model_uri)
    assert candidates.find_candidate(s, first.model_uri) is None
    with pytest.raises(InputError, match="is not registered"):
        candidates.candidate_version(s, first.model_uri)
    s.register(first.model_uri, tags={"mlops.candidate": first.model_uri})
    assert candidates.candidate_version(s, first.model_uri) == 2
    assert candidates.candidate_version(s, json.dumps({"run_id": second.run_id})) == 1
    assert candidates.find_candidate(s, "1").run_id == second.run_id


def test_data_window_reads_the_train_window_tag(s):
    result = s.log_model(Mean(1.0), sample=frame(0)[["x"]], metrics={}, window=("2024-01-01", "2024-01-28"))
    assert candidates.data_window(s.ctx, result.run_id) == {"start": "2024-01-01", "end": "2024-01-28"}
    assert candidates.data_window(s.ctx, result.run_id, end="2024-02-11")["end"] == "2024-02-11"
    assert candidates.data_window(s.ctx, None) == {"start": None, "end": None}


def test_production_metrics_of_a_window_leave_out_the_candidate(s):
    assert candidates.production_metrics(s, 5) == {}
    s.tables.append(METRICS, pd.DataFrame([
        {"model_name": "m", "model_version": 1, "batch_id": 5, "metric": "mape", "value": 0.2, "window_end": "w"},
        {"model_name": "m", "model_version": 2, "batch_id": 5, "metric": "r2", "value": 0.9, "window_end": "w"},
        {"model_name": "other", "model_version": 1, "batch_id": 5, "metric": "mape", "value": 0.7, "window_end": "w"},
    ]))
    assert candidates.production_metrics(s, 5) == {"mape": 0.2, "r2": 0.9}
    assert candidates.production_metrics(s, 5, exclude_version=2) == {"mape": 0.2}
