"""The retrain loop's decisions (pure): the state machine over the event log, starting or resuming
a loop, judging a try, what is recorded, committed and alerted."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from devops_mlops.core import retrain_loop as rl

pytestmark = pytest.mark.fast

LOOP = rl.Loop("m@v1@2024-02-01", 1, "2024-02-01", 9)


def ev(seq, event, attempt=0, **kw):
    return {"loop_id": "L", "seq": seq, "event": event, "attempt": attempt, **kw}


def test_loop_trains_until_n_then_alerts():
    state = rl.fold("L", [])
    assert rl.next_action(state, 3) == rl.Action("train", 1)
    events = [
        ev(1, "started", 1),
        ev(2, "finished", 1, outcome=rl.NOT_IMPROVED),
        ev(3, "started", 2),
        ev(4, "finished", 2, outcome=rl.GATE_FAILED, version=5),
    ]
    assert rl.next_action(rl.fold("L", events), 3) == rl.Action("train", 3)
    events += [ev(5, "started", 3), ev(6, "finished", 3, outcome=rl.FAILED, detail="boom")]
    assert rl.next_action(rl.fold("L", events), 3).kind == "alert"
    events += [ev(7, "alerted")]
    state = rl.fold("L", events)
    assert state.finished and rl.next_action(state, 3).kind == "done"
    assert rl.next_action(rl.fold("L", []), 0).kind == "alert"  # --max-retrains 0


def test_a_try_killed_once_runs_again_then_counts():
    events = [ev(1, "started", 1), ev(2, "finished", 1, outcome=rl.NOT_IMPROVED), ev(3, "started", 2)]
    state = rl.fold("L", events)
    assert [t.outcome for t in state.tries] == [rl.NOT_IMPROVED, rl.INTERRUPTED]
    # killed once: the same try again (same data, so the loop ends as an uninterrupted one would)
    assert rl.next_action(state, 3) == rl.Action("train", 2)
    assert rl.next_action(state, 2) == rl.Action("train", 2)
    # killed twice in the same try: it counts, and the loop goes on (or alerts at N)
    state = rl.fold("L", events + [ev(4, "started", 2)])
    assert state.tries[1].starts == 2 and state.tries[1].outcome == rl.INTERRUPTED
    assert rl.next_action(state, 3) == rl.Action("train", 3)
    assert rl.next_action(state, 2).kind == "alert"
    # started again and finished: one try, with the outcome of the second start
    state = rl.fold("L", events + [ev(4, "started", 2), ev(5, "finished", 2, outcome=rl.GATE_FAILED)])
    assert [t.outcome for t in state.tries] == [rl.NOT_IMPROVED, rl.GATE_FAILED]


def test_winner_is_promoted_once_then_committed_then_scored():
    events = [
        ev(1, "started", 1),
        ev(
            2,
            "finished",
            1,
            outcome=rl.PASSED,
            version=4,
            metrics='{"mape": 0.1}',
            improved="true",
            gate_passed="true",
        ),
    ]
    state = rl.fold("L", events)
    assert state.winner.version == 4 and state.winner.metrics == {"mape": 0.1} and state.winner.gate_passed is True
    assert rl.next_action(state, 3) == rl.Action("promote", 1, 4)
    events.append(ev(3, "promoted", 1, version=4))
    assert rl.next_action(rl.fold("L", events), 3).kind == "commit"
    events.append(ev(4, "committed", 1, version=4, detail="abc"))
    assert rl.next_action(rl.fold("L", events), 3).kind == "score"
    events.append(ev(5, "scored", 1, version=4))
    state = rl.fold("L", events)
    assert state.finished and rl.next_action(state, 3).kind == "done"
    # events of another loop are ignored
    assert rl.fold("other", events).tries == []


def test_outcome_is_retrained_with_a_winner_else_alerted():
    won = [ev(1, "started", 1), ev(2, "finished", 1, outcome=rl.PASSED, version=4)]
    assert rl.outcome_of(rl.fold("L", won)) == rl.RETRAINED
    lost = [ev(1, "started", 1), ev(2, "finished", 1, outcome=rl.GATE_FAILED, version=4), ev(3, "alerted")]
    assert rl.outcome_of(rl.fold("L", lost)) == rl.ALERTED


def test_loop_id_names_model_version_and_window():
    assert rl.loop_id("m", 3, "2024-01-01") == "m@v3@2024-01-01"
    assert rl.loop_id("m", None, "2024-01-01") == "m@v0@2024-01-01"


def test_start_resumes_a_pending_loop_first():
    pending = {"loop_id": "m@v2@2024-01-05", "base_version": 2, "window_end": "2024-01-05", "eval_batch": 4}
    # resumed even when this check has no window or is in range
    for batch, needed in ((None, False), (7, False), (7, True)):
        start = rl.start(pending, model="m", batch=batch, version=3, window_end="2024-01-09", retrain_needed=needed)
        assert start.loop == rl.Loop("m@v2@2024-01-05", 2, "2024-01-05", 4, resumed=True)
    # a loop with no production version to start from
    start = rl.start({**pending, "base_version": 0}, model="m", batch=None, version=None, window_end=None,
                     retrain_needed=False)
    assert start.loop.base_version is None


def test_start_ends_or_starts_a_new_loop():
    kw = {"model": "m", "version": 3, "window_end": "2024-01-09"}
    assert rl.start(None, batch=None, retrain_needed=False, **kw) == rl.Start(None, rl.NOTHING_TO_EVALUATE)
    assert rl.start(None, batch=7, retrain_needed=False, **kw) == rl.Start(None, rl.IN_RANGE)
    start = rl.start(None, batch=7, retrain_needed=True, **kw)
    assert start.loop == rl.Loop("m@v3@2024-01-09", 3, "2024-01-09", 7) and not start.loop.resumed


def test_pending_loop_is_the_newest_unfinished_one():
    assert rl.pending_loop([]) is None
    done = [
        {"loop_id": "a", "seq": 1, "at": "2024-01-01T00:00", "event": "started", "attempt": 1},
        {"loop_id": "a", "seq": 2, "at": "2024-01-01T00:01", "event": "alerted", "attempt": 0},
    ]
    assert rl.pending_loop(done) is None
    crashed = [
        {"loop_id": "b", "seq": 1, "at": "2024-01-02T00:00", "event": "started", "attempt": 1},
        {"loop_id": "b", "seq": 2, "at": "2024-01-02T00:05", "event": "finished", "attempt": 1,
         "outcome": rl.NOT_IMPROVED},
    ]
    older = [{"loop_id": "c", "seq": 1, "at": "2023-12-30T00:00", "event": "started", "attempt": 1}]
    assert rl.pending_loop(older + done + crashed) == crashed[-1]


def test_a_try_started_again_says_why():
    state = rl.fold("L", [ev(1, "started", 1)])
    assert rl.restart_detail(state, 1).startswith("again:")
    assert rl.restart_detail(state, 2) == ""


def test_production_metrics_are_those_of_the_base_version():
    rows = [
        {"metric": "mape", "value": 0.3, "model_version": 1},
        {"metric": "mape", "value": 0.1, "model_version": 2},
        {"metric": "r2", "value": 0.5, "model_version": 1},
    ]
    assert rl.production_metrics(rows, 1) == {"mape": 0.3, "r2": 0.5}
    assert rl.production_metrics(rows[:1], None) == {"mape": 0.3}


def test_judge_compares_the_primary_metric_in_its_direction():
    assert rl.judge({"mape": 0.1}, {"mape": 0.2}, primary="mape", higher_is_better=False) == rl.Verdict(True)
    assert rl.judge({"mape": 0.1}, {}, primary="mape", higher_is_better=False).improved  # no production value
    worse = rl.judge({"mape": 0.3}, {"mape": 0.2}, primary="mape", higher_is_better=False)
    assert worse == rl.Verdict(False, "mape 0.3 vs production 0.2")
    assert not rl.judge({"r2": 0.7}, {"r2": 0.8}, primary="r2", higher_is_better=True).improved
    missing = rl.judge({"r2": 0.9}, {}, primary="mape", higher_is_better=False)
    assert missing == rl.Verdict(False, "mape nan vs production -")


def test_a_version_registered_by_a_killed_try_is_found_by_its_tags():
    versions = [
        SimpleNamespace(version=2, tags={"mlops.retrain.loop": "L", "mlops.retrain.attempt": "1"}),
        SimpleNamespace(version=3, tags={"mlops.retrain.loop": "L", "mlops.retrain.attempt": "2"}),
        SimpleNamespace(version=4, tags={}),
    ]
    assert rl.reusable_version(versions, "L", 2).version == 3
    assert rl.reusable_version(versions, "L", 3) is None
    assert rl.reusable_version(versions, "other", 1) is None


def test_registration_and_gate_tags():
    tags = rl.registration_tags("L", 2, {"train_batches": [3, 4], "eval_batch": 5}, 9)
    assert tags == {"mlops.retrain.loop": "L", "mlops.retrain.attempt": "2", "mlops.train_batches": "3,4",
                    "mlops.eval_batch": "5"}
    assert rl.registration_tags("L", 1, {}, 9)["mlops.eval_batch"] == "9"  # the loop's batch by default
    assert rl.gate_tags("L", 2, False) == {"mlops.retrain.loop": "L", "mlops.retrain.attempt": "2",
                                           "mlops.retrain.gate": "failed"}
    assert rl.gate_tags("L", 2, True)["mlops.retrain.gate"] == "passed"


def test_event_rows_fold_back_into_the_state():
    rows = [
        rl.event_row(LOOP, model="m", seq=1, at="t1", event="started", attempt=1),
        rl.event_row(LOOP, model="m", seq=2, at="t2", event="finished", attempt=1, outcome=rl.PASSED, run_id="r",
                     version=5, metrics={"mape": 0.1}, improved=True, gate_passed=True, train_batches=[6, 7]),
        rl.event_row(LOOP, model="m", seq=3, at="t3", event="promoted", attempt=1, version=5),
    ]
    first = rows[0]
    assert (first["loop_id"], first["base_version"], first["window_end"], first["eval_batch"]) == (
        "m@v1@2024-02-01", 1, "2024-02-01", 9)
    assert (first["version"], first["metrics"], first["improved"], first["run_id"]) == (0, "{}", "", "")
    assert rows[1]["improved"] == "true" and rows[1]["train_batches"] == "6,7"
    state = rl.fold(LOOP.loop_id, rows)
    winner = state.winner
    assert (winner.version, winner.run_id, winner.metrics, winner.gate_passed) == (5, "r", {"mape": 0.1}, True)
    assert state.promoted == 5 and rl.next_action(state, 3) == rl.Action("commit", 1, 5)
    # no production version: recorded as 0
    assert rl.event_row(rl.Loop("x", None, "w", 1), model="m", seq=1, at="t", event="alerted")["base_version"] == 0


def test_provenance_sets_the_winner_against_production():
    winner = rl.Try(2, rl.PASSED, run_id="r", version=5, metrics={"mape": 0.1, "r2": 0.9}, train_batches="3,4")
    doc = rl.provenance(LOOP, model="m", action=rl.Action("commit", 2, 5), winner=winner,
                        production={"mape": 0.3}, data_window={"start": "a", "end": "b"})
    assert doc == {
        "model": "m",
        "version": 5,
        "metrics": {"mape": {"candidate": 0.1, "production": 0.3}, "r2": {"candidate": 0.9, "production": None}},
        "data_window": {"start": "a", "end": "b"},
        "retrain_loop": "m@v1@2024-02-01",
        "attempt": 2,
        "run_id": "r",
        "train_batches": [3, 4],
    }
    empty = rl.provenance(LOOP, model="m", action=rl.Action("commit", 2, 5), winner=None, production={},
                          data_window={})
    assert empty["metrics"] == {} and empty["run_id"] is None and empty["train_batches"] == []


def test_the_alert_names_the_window_and_the_tries():
    text = rl.alert_summary("m", LOOP, 3)
    assert text.startswith("m v1: ") and "ending 2024-02-01" in text and "3 retraining tries" in text
    row = {"metric": "mape", "value": math.inf, "threshold_min": None, "threshold_max": 0.2, "status": "violation",
           "window_end": "2024-02-01", "batch_id": 9, "rows": 100}
    assert rl.alert_metrics([row]) == [{k: row[k] for k in ("metric", "value", "threshold_min", "threshold_max",
                                                            "status", "window_end")}]
