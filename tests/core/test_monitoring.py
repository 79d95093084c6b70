"""The V-of-last-K rule and the retrain loop's state machine (pure)."""

from __future__ import annotations

import math

from devops_mlops.core import monitoring as mon


def rows(statuses, metric="mape"):
    return [{"metric": metric, "window_end": f"2024-01-{i + 10:02d}", "status": s} for i, s in enumerate(statuses)]


def test_status_of_bounds_and_nan():
    assert mon.status_of(0.1, None, 0.15) == mon.OK
    assert mon.status_of(0.2, None, 0.15) == mon.VIOLATION
    assert mon.status_of(0.5, 0.7, None) == mon.VIOLATION
    assert mon.status_of(math.nan, 0.7, None) == mon.VIOLATION


def test_rule_needs_v_of_last_k_and_the_latest():
    ok, bad = mon.OK, mon.VIOLATION
    assert not mon.decide(rows([ok, ok, bad]), evaluate=3, violations=2).retrain  # only one
    assert mon.decide(rows([ok, bad, bad]), evaluate=3, violations=2).retrain
    assert not mon.decide(rows([bad, bad, ok]), evaluate=3, violations=2).retrain  # latest is fine
    assert not mon.decide(rows([bad, ok, ok, ok, bad]), evaluate=3, violations=2).retrain  # old one out of K
    assert mon.decide(rows([bad]), evaluate=1, violations=1).retrain
    assert not mon.decide([], evaluate=3, violations=2).retrain


def test_rule_is_per_metric_and_latest_evaluation_wins():
    data = rows([mon.OK, mon.VIOLATION], "mape") + rows([mon.VIOLATION, mon.OK], "r2")
    d = mon.decide(data, evaluate=2, violations=2)
    assert not d.retrain and d.latest_window == "2024-01-11"
    again = data + [{"metric": "mape", "window_end": "2024-01-10", "status": mon.VIOLATION, "evaluated_at": "z"}]
    d = mon.decide(again, evaluate=2, violations=2)
    assert d.retrain and d.triggered == ["mape"]


def ev(seq, event, attempt=0, **kw):
    return {"loop_id": "L", "seq": seq, "event": event, "attempt": attempt, **kw}


def test_loop_trains_until_n_then_alerts():
    state = mon.fold("L", [])
    assert mon.next_action(state, 3) == mon.Action("train", 1)
    events = [
        ev(1, "started", 1),
        ev(2, "finished", 1, outcome=mon.NOT_IMPROVED),
        ev(3, "started", 2),
        ev(4, "finished", 2, outcome=mon.GATE_FAILED, version=5),
    ]
    assert mon.next_action(mon.fold("L", events), 3) == mon.Action("train", 3)
    events += [ev(5, "started", 3), ev(6, "finished", 3, outcome=mon.FAILED, detail="boom")]
    assert mon.next_action(mon.fold("L", events), 3).kind == "alert"
    events += [ev(7, "alerted")]
    state = mon.fold("L", events)
    assert state.finished and mon.next_action(state, 3).kind == "done"
    assert mon.next_action(mon.fold("L", []), 0).kind == "alert"  # --max-retrains 0


def test_a_try_killed_once_runs_again_then_counts():
    events = [ev(1, "started", 1), ev(2, "finished", 1, outcome=mon.NOT_IMPROVED), ev(3, "started", 2)]
    state = mon.fold("L", events)
    assert [t.outcome for t in state.tries] == [mon.NOT_IMPROVED, mon.INTERRUPTED]
    # killed once: the same try again (same data, so the loop ends as an uninterrupted one would)
    assert mon.next_action(state, 3) == mon.Action("train", 2)
    assert mon.next_action(state, 2) == mon.Action("train", 2)
    # killed twice in the same try: it counts, and the loop goes on (or alerts at N)
    state = mon.fold("L", events + [ev(4, "started", 2)])
    assert state.tries[1].starts == 2 and state.tries[1].outcome == mon.INTERRUPTED
    assert mon.next_action(state, 3) == mon.Action("train", 3)
    assert mon.next_action(state, 2).kind == "alert"
    # started again and finished: one try, with the outcome of the second start
    state = mon.fold("L", events + [ev(4, "started", 2), ev(5, "finished", 2, outcome=mon.GATE_FAILED)])
    assert [t.outcome for t in state.tries] == [mon.NOT_IMPROVED, mon.GATE_FAILED]


def test_winner_is_promoted_once_then_committed_then_scored():
    events = [
        ev(1, "started", 1),
        ev(
            2,
            "finished",
            1,
            outcome=mon.PASSED,
            version=4,
            metrics='{"mape": 0.1}',
            improved="true",
            gate_passed="true",
        ),
    ]
    state = mon.fold("L", events)
    assert state.winner.version == 4 and state.winner.metrics == {"mape": 0.1} and state.winner.gate_passed is True
    assert mon.next_action(state, 3) == mon.Action("promote", 1, 4)
    events.append(ev(3, "promoted", 1, version=4))
    assert mon.next_action(mon.fold("L", events), 3).kind == "commit"
    events.append(ev(4, "committed", 1, version=4, detail="abc"))
    assert mon.next_action(mon.fold("L", events), 3).kind == "score"
    events.append(ev(5, "scored", 1, version=4))
    state = mon.fold("L", events)
    assert state.finished and mon.next_action(state, 3).kind == "done"
    # events of another loop are ignored
    assert mon.fold("other", events).tries == []


def test_improves_respects_direction():
    assert mon.improves(0.1, 0.2, higher_is_better=False)
    assert not mon.improves(0.3, 0.2, higher_is_better=False)
    assert mon.improves(0.9, 0.8, higher_is_better=True)
    assert mon.improves(0.9, None, higher_is_better=True)
    assert mon.loop_id("m", 3, "2024-01-01") == "m@v3@2024-01-01"
