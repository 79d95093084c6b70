"""The task graph of a job run, decided the way Databricks Jobs decides it.

One place for the rules every runner of jobs shares (the local jobs adapter, the Databricks
emulator and its compute): in which order tasks run, whether a task whose dependencies have
finished runs or is skipped (its ``run_if``), how the run as a whole ended, and which tasks a
repair runs again. Pure logic: the runners hand in the outcomes so far (task key -> result
state) and get decisions back; they keep the clocks, threads and files.

``run_if`` (Databricks, "Configure task dependencies"):

* ``ALL_SUCCESS`` (the default): every dependency succeeded; else the task is ``UPSTREAM_FAILED``.
* ``AT_LEAST_ONE_SUCCESS``: one dependency succeeded; else ``UPSTREAM_FAILED``.
* ``NONE_FAILED``: no dependency failed (and one ran); else ``UPSTREAM_FAILED``.
* ``ALL_DONE``: runs whatever its dependencies' results.
* ``AT_LEAST_ONE_FAILED``: one dependency failed; else the task is ``EXCLUDED``.
* ``ALL_FAILED``: every dependency failed; else ``EXCLUDED``.

An excluded task counts as a success for what depends on it, and a task whose dependencies were
all excluded is excluded too, whatever its ``run_if``. A canceled dependency counts as a failure
for the failure-handling conditions; a task it holds back is ``UPSTREAM_CANCELED``. The run
succeeds when every task succeeded (or was excluded), "succeeds with failures" when only inner
tasks failed and every leaf succeeded, and fails otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RUN_IF = ("ALL_SUCCESS", "AT_LEAST_ONE_SUCCESS", "NONE_FAILED", "ALL_DONE", "AT_LEAST_ONE_FAILED", "ALL_FAILED")
#: what :meth:`JobGraph.decide` answers for a task that runs now
RUN = "RUN"
#: results that count as a success downstream
SUCCEEDED = frozenset({"SUCCESS", "EXCLUDED"})
#: results that count as a cancellation downstream
CANCELED = frozenset({"CANCELED", "UPSTREAM_CANCELED"})
#: conditions that, unmet, exclude the task instead of failing it
_FAILURE_HANDLERS = ("AT_LEAST_ONE_FAILED", "ALL_FAILED")


class JobGraphError(ValueError):
    """The tasks do not make a graph a job can run (a cycle, an unknown key, an unknown run_if)."""


@dataclass(frozen=True)
class JobGraph:
    """Task keys in the job's order, what each depends on, and each one's ``run_if``."""

    keys: tuple[str, ...]
    depends_on: Mapping[str, tuple[str, ...]]
    run_if: Mapping[str, str]

    @classmethod
    def of(cls, tasks: Sequence[Mapping[str, Any]]) -> JobGraph:
        """The graph of Jobs API tasks (``task_key``, ``depends_on``, ``run_if``); checked whole."""
        keys = tuple(str(t.get("task_key")) for t in tasks)
        if len(set(keys)) != len(keys):
            raise JobGraphError("task keys must be unique: " + ", ".join(sorted({k for k in keys if keys.count(k) > 1})))
        deps = {str(t.get("task_key")): tuple(str(d.get("task_key")) for d in t.get("depends_on") or [])
                for t in tasks}
        for key, needs in deps.items():
            for dep in needs:
                if dep not in deps:
                    raise JobGraphError(f"task {key} depends on {dep}, which is not a task of the job")
        run_if = {str(t.get("task_key")): str(t.get("run_if") or "ALL_SUCCESS") for t in tasks}
        for key, rule in run_if.items():
            if rule not in RUN_IF:
                raise JobGraphError(f"task {key}: run_if {rule} is not one of " + ", ".join(RUN_IF))
        graph = cls(keys, deps, run_if)
        graph.order()
        return graph

    # ------------------------------------------------------------ order
    def order(self) -> list[str]:
        """Every key after its dependencies; among the tasks ready at once, the job's order."""
        order: list[str] = []
        done: set[str] = set()
        while len(order) < len(self.keys):
            ready = next((k for k in self.keys if k not in done and all(d in done for d in self.depends_on[k])), None)
            if ready is None:
                raise JobGraphError("the job's task dependencies form a cycle: "
                                    + ", ".join(k for k in self.keys if k not in done))
            order.append(ready)
            done.add(ready)
        return order

    def ready(self, outcomes: Mapping[str, str]) -> list[str]:
        """Tasks without an outcome whose dependencies all have one, in the job's order."""
        return [k for k in self.keys if k not in outcomes and all(d in outcomes for d in self.depends_on[k])]

    def leaves(self) -> list[str]:
        """Tasks nothing depends on."""
        needed = {d for deps in self.depends_on.values() for d in deps}
        return [k for k in self.keys if k not in needed]

    def downstream(self, keys: Iterable[str]) -> set[str]:
        """Every task that depends on one of ``keys``, directly or through others (not ``keys``)."""
        found: set[str] = set()
        frontier = set(keys)
        while frontier:
            frontier = {k for k in self.keys if k not in found and frontier & set(self.depends_on[k])}
            found |= frontier
        return found - set(keys)

    # ------------------------------------------------------------ decisions
    def decide(self, key: str, outcomes: Mapping[str, str]) -> str:
        """:data:`RUN`, or the result state the task is skipped with, once its dependencies ended."""
        missing = [d for d in self.depends_on[key] if d not in outcomes]
        if missing:
            raise JobGraphError(f"task {key} waits for {', '.join(missing)}")
        states = [outcomes[d] for d in self.depends_on[key]]
        if not states:
            return RUN
        if all(s == "EXCLUDED" for s in states):
            return "EXCLUDED"
        ok = [s in SUCCEEDED for s in states]
        rule = self.run_if[key]
        met = {
            "ALL_SUCCESS": all(ok),
            "AT_LEAST_ONE_SUCCESS": any(ok),
            "NONE_FAILED": all(ok),
            "ALL_DONE": True,
            "AT_LEAST_ONE_FAILED": not all(ok),
            "ALL_FAILED": not any(ok),
        }[rule]
        if met:
            return RUN
        if rule in _FAILURE_HANDLERS:
            return "EXCLUDED"
        blocked = [s for s in states if s not in SUCCEEDED]
        return "UPSTREAM_CANCELED" if all(s in CANCELED for s in blocked) else "UPSTREAM_FAILED"

    def result(self, outcomes: Mapping[str, str]) -> str:
        """How a finished run ended: SUCCESS, SUCCESS_WITH_FAILURES or FAILED."""
        if all(outcomes.get(k) in SUCCEEDED for k in self.keys):
            return "SUCCESS"
        if all(outcomes.get(k) in SUCCEEDED for k in self.leaves()):
            return "SUCCESS_WITH_FAILURES"
        return "FAILED"

    def repair(self, outcomes: Mapping[str, str], rerun: Iterable[str] = (), *, all_failed: bool = False,
               dependents: bool = False) -> list[str]:
        """The tasks a repair of a finished run runs again, in order: ``rerun``, plus every task that
        did not succeed (``all_failed``), plus everything downstream of those (``dependents``)."""
        chosen = set(rerun)
        unknown = sorted(chosen - set(self.keys))
        if unknown:
            raise JobGraphError("no such task in the run: " + ", ".join(unknown))
        if all_failed:
            chosen |= {k for k in self.keys if outcomes.get(k) not in SUCCEEDED}
        if dependents:
            chosen |= self.downstream(chosen)
        return [k for k in self.order() if k in chosen]
