"""Runs of the Jobs API 2.1 / 2.2 in the Databricks emulator.

Routes: run-now (job parameters over the job's defaults), runs/submit, runs/get
(``include_history`` adds the repair history), runs/get-output, runs/cancel, runs/repair
(``rerun_tasks`` or ``rerun_all_failed_tasks``, ``rerun_dependent_tasks``, ``latest_repair_id``).
``idempotency_token`` makes a retried run-now or submit answer the first run.

A run advances ``run_steps`` steps per ``runs/get`` (0: it finishes when it starts); each step
starts or ends one task, in dependency order, and skips the tasks their ``run_if`` does not run
(:mod:`devops_mlops.core.jobgraph` decides both). A task ends as scripted by :meth:`RunsArea.set_outcome`
(by task key or notebook path; SUCCESS otherwise). When the emulator executes its runs
(``emu.execute``), the compute (:mod:`.compute`) runs them instead.

State and assertion helpers: ``runs`` (id -> :class:`EmuRun`), ``outcomes``, ``run_steps``.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ...core.jobgraph import RUN, JobGraph, JobGraphError
from ..http import Request
from .jobs import VERSIONS, check_tasks
from .server import err

#: life cycle states of a task that has ended
FINISHED = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")


@dataclass
class TaskOutcome:
    result: str = "SUCCESS"  # SUCCESS | FAILED | TIMEDOUT
    error: str | None = None
    error_trace: str | None = None
    output: str | None = None  # dbutils.notebook.exit value


@dataclass
class EmuRun:
    run_id: int
    job_id: int | None
    run_name: str
    tasks: list[dict[str, Any]]
    job_parameters: dict[str, str] = field(default_factory=dict)
    polls: int = 0
    canceled: bool = False
    task_runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # task_key -> state
    #: executed runs (``emu.execute``): task_key -> how the task ended
    outputs: dict[str, TaskOutcome] = field(default_factory=dict)
    executed: bool = False
    #: each repair: {"id", "task_run_ids"}
    repairs: list[dict[str, Any]] = field(default_factory=list)

    @cached_property
    def graph(self) -> JobGraph:
        return JobGraph.of(self.tasks)

    def task(self, key: str) -> dict[str, Any]:
        return next(t for t in self.tasks if t["task_key"] == key)

    def outcomes(self) -> dict[str, str]:
        """The result state of every task that has ended."""
        return {k: s["result_state"] for k, s in self.task_runs.items() if s["life_cycle_state"] in FINISHED}


class RunsArea:
    """Mixin of :class:`~devops_mlops.testing.databricks.DatabricksEmulator`; state: ``runs``,
    ``outcomes``, ``idempotency``, ``run_steps``, ``executor``."""

    user: str
    url: str
    lock: Any
    route: Callable[..., None]
    _job: Callable[[Any], dict]

    def _install_runs(self, run_steps: int) -> None:
        self.run_steps = run_steps
        self._run_ids: Iterator[int] = itertools.count(100)
        self.runs: dict[int, EmuRun] = {}
        self.task_run_index: dict[int, tuple[int, str]] = {}
        self.outcomes: dict[str, TaskOutcome] = {}
        self.idempotency: dict[str, int] = {}
        #: set by ``emu.execute``: runs execute their notebook tasks (see :mod:`.compute`)
        self.executor: Any = None
        for v in VERSIONS:
            base = f"/api/{v}/jobs"
            self.route("POST", f"{base}/run-now", self._run_now)
            self.route("POST", f"{base}/runs/submit", self._runs_submit)
            self.route("GET", f"{base}/runs/get", self._runs_get)
            self.route("GET", f"{base}/runs/get-output", self._runs_output)
            self.route("POST", f"{base}/runs/cancel", self._runs_cancel)
            self.route("POST", f"{base}/runs/repair", self._runs_repair)

    # ------------------------------------------------------------ helpers for tests
    def set_outcome(self, key: str, result: str = "FAILED", *, error: str | None = None,
                    error_trace: str | None = None, output: str | None = None) -> None:
        """``key``: a task_key or a notebook path; later runs of that task end this way."""
        self.outcomes[key] = TaskOutcome(result, error, error_trace, output)

    # ------------------------------------------------------------ the clock of a run
    def _outcome(self, task: dict, run: EmuRun | None = None) -> TaskOutcome:
        if run is not None and task["task_key"] in run.outputs:
            return run.outputs[task["task_key"]]
        nb = (task.get("notebook_task") or {}).get("notebook_path")
        return self.outcomes.get(task["task_key"]) or (self.outcomes.get(nb) if nb else None) or TaskOutcome()

    def _go(self, run: EmuRun, keys: list[str]) -> None:
        """Start (or restart, in a repair) the tasks ``keys`` of ``run``."""
        if run.executed:
            self.executor.start(run, keys)
        elif self.run_steps == 0:
            self._advance(run, 10_000)

    def _advance(self, run: EmuRun, steps: int) -> None:
        for _ in range(steps):
            if not self._step(run):
                break

    def _step(self, run: EmuRun) -> bool:
        """One step: tasks held back or canceled end at once; then the first task whose
        dependencies have ended starts, or the first running one ends. False: nothing moved."""
        outcomes = run.outcomes()
        moved = False
        for key in run.graph.keys:
            state = run.task_runs[key]
            if key in outcomes or any(d not in outcomes for d in run.graph.depends_on[key]):
                continue
            if run.canceled:
                verdict = "CANCELED"
            elif state["life_cycle_state"] == "RUNNING":
                state.update(life_cycle_state="TERMINATED", result_state=self._outcome(run.task(key)).result)
                return True
            else:
                verdict = run.graph.decide(key, outcomes)
                if verdict == RUN:
                    state["life_cycle_state"] = "RUNNING"
                    return True
            state.update(life_cycle_state="TERMINATED", result_state=verdict)
            outcomes[key] = verdict
            moved = True
        return moved

    # ------------------------------------------------------------ starting runs
    def _new_task_run(self, run: EmuRun, key: str) -> int:
        trid = next(self._run_ids)
        run.task_runs[key] = {"run_id": trid, "life_cycle_state": "PENDING", "result_state": None}
        self.task_run_index[trid] = (run.run_id, key)
        return trid

    def _start_run(self, job_id: int | None, name: str, tasks: list[dict], params: dict) -> int:
        rid = next(self._run_ids)
        run = EmuRun(rid, job_id, name, copy.deepcopy(tasks), dict(params or {}))
        for t in run.tasks:
            self._new_task_run(run, t["task_key"])
        self.runs[rid] = run
        run.executed = self.executor is not None
        self._go(run, list(run.graph.keys))
        return rid

    def _run_now(self, q: Request) -> dict:
        body = q.json or {}
        jid = int(body.get("job_id") or 0)
        settings = self._job(jid)
        token = body.get("idempotency_token")
        if token and token in self.idempotency:
            return {"run_id": self.idempotency[token]}
        params = {p["name"]: str(p.get("default", "")) for p in settings.get("parameters", [])}
        params.update(body.get("job_parameters") or {})
        rid = self._start_run(jid, settings.get("name", ""), settings.get("tasks", []), params)
        if token:
            self.idempotency[token] = rid
        return {"run_id": rid, "number_in_job": rid}

    def _runs_submit(self, q: Request) -> dict:
        body = q.json or {}
        token = body.get("idempotency_token")
        if token and token in self.idempotency:
            return {"run_id": self.idempotency[token]}
        tasks = body.get("tasks") or []
        if not tasks:
            raise err(400, "INVALID_PARAMETER_VALUE", "A run needs at least one task")
        check_tasks(tasks)
        rid = self._start_run(None, body.get("run_name") or "Untitled", tasks, {})
        if token:
            self.idempotency[token] = rid
        return {"run_id": rid}

    # ------------------------------------------------------------ reading runs
    def _run_doc(self, run: EmuRun, history: bool = False) -> dict:
        states = [run.task_runs[t["task_key"]] for t in run.tasks]
        result = None
        if all(s["life_cycle_state"] == "TERMINATED" for s in states):
            life = "TERMINATED"
            result = "CANCELED" if run.canceled else run.graph.result(run.outcomes())
        else:
            life = "RUNNING" if any(s["life_cycle_state"] != "PENDING" for s in states) else "PENDING"
        state = {"life_cycle_state": life, "state_message": ""}
        if result:
            state["result_state"] = result
        tasks = []
        for t in run.tasks:
            s = run.task_runs[t["task_key"]]
            tstate = {"life_cycle_state": s["life_cycle_state"]}
            if s["result_state"]:
                tstate["result_state"] = s["result_state"]
            doc = {"run_id": s["run_id"], "task_key": t["task_key"], "state": tstate}
            for k in ("notebook_task", "depends_on"):
                if k in t:
                    doc[k] = copy.deepcopy(t[k])
            tasks.append(doc)
        out = {"run_id": run.run_id, "run_name": run.run_name, "state": state, "tasks": tasks,
               "run_page_url": f"{self.url}/#job/{run.job_id or 0}/run/{run.run_id}", "creator_user_name": self.user,
               "job_parameters": [{"name": k, "value": v} for k, v in run.job_parameters.items()]}
        if run.job_id is not None:
            out["job_id"] = run.job_id
        if history:
            out["repair_history"] = [{"type": "ORIGINAL", "id": run.run_id}] + [
                {"type": "REPAIR", "id": r["id"], "task_run_ids": list(r["task_run_ids"])} for r in run.repairs]
        return out

    def _get_run(self, value: Any) -> EmuRun:
        try:
            rid = int(value)
        except (TypeError, ValueError):
            raise err(400, "INVALID_PARAMETER_VALUE", "run_id must be a number") from None
        if rid not in self.runs:
            raise err(400, "INVALID_PARAMETER_VALUE", f"Run {rid} does not exist.")
        return self.runs[rid]

    def _runs_get(self, q: Request) -> dict:
        run = self._get_run(q.arg("run_id"))
        run.polls += 1
        if self.run_steps and not run.executed:
            self._advance(run, self.run_steps)
        return self._run_doc(run, history=(q.arg("include_history") or "").lower() == "true")

    def _runs_output(self, q: Request) -> dict:
        try:
            trid = int(q.arg("run_id") or 0)
        except ValueError:
            raise err(400, "INVALID_PARAMETER_VALUE", "run_id must be a number") from None
        if trid in self.runs:
            run = self.runs[trid]
            if len(run.tasks) > 1:
                raise err(400, "INVALID_PARAMETER_VALUE", "Retrieving the output of runs with multiple tasks is "
                          "not supported. Please retrieve the output of each individual task run instead.")
            trid = run.task_runs[run.tasks[0]["task_key"]]["run_id"]
        if trid not in self.task_run_index:
            raise err(400, "INVALID_PARAMETER_VALUE", f"Run {trid} does not exist.")
        rid, key = self.task_run_index[trid]
        run = self.runs[rid]
        task = run.task(key)
        state = run.task_runs[key]
        doc: dict[str, Any] = {"metadata": {"run_id": trid, "task_key": key, "job_id": run.job_id,
                                            "state": {"life_cycle_state": state["life_cycle_state"]}}}
        if state["life_cycle_state"] != "TERMINATED" or state["result_state"] not in ("SUCCESS", "FAILED", "TIMEDOUT"):
            return doc  # not ended, or skipped or canceled before it ran: no output
        out = self._outcome(task, run)
        if state["result_state"] in ("FAILED", "TIMEDOUT"):
            doc["error"] = out.error or "Notebook failed"
            if out.error_trace:
                doc["error_trace"] = out.error_trace
        if out.output is not None and "notebook_task" in task:
            doc["notebook_output"] = {"result": out.output, "truncated": False}
        return doc

    # ------------------------------------------------------------ changing runs
    def _runs_cancel(self, q: Request) -> dict:
        run = self._get_run((q.json or {}).get("run_id"))
        run.canceled = True
        if not run.executed:  # an executed run cancels its tasks that have not started
            self._advance(run, 10_000)
        return {}

    def _runs_repair(self, q: Request) -> dict:
        body = q.json or {}
        run = self._get_run(body.get("run_id"))
        if any(s["life_cycle_state"] not in FINISHED for s in run.task_runs.values()):
            raise err(400, "INVALID_PARAMETER_VALUE", f"Run {run.run_id} is still running: only a run that has "
                      "ended can be repaired.")
        if run.repairs and str(body.get("latest_repair_id")) != str(run.repairs[-1]["id"]):
            raise err(400, "INVALID_PARAMETER_VALUE",
                      "The latest repair ID needs to be provided in order to create a new repair")
        rerun, all_failed = body.get("rerun_tasks") or [], bool(body.get("rerun_all_failed_tasks"))
        if bool(rerun) == all_failed:
            raise err(400, "INVALID_PARAMETER_VALUE", "Exactly one of rerun_tasks and rerun_all_failed_tasks "
                      "must be given.")
        try:
            keys = run.graph.repair(run.outcomes(), rerun, all_failed=all_failed,
                                    dependents=bool(body.get("rerun_dependent_tasks")))
        except JobGraphError as exc:
            raise err(400, "INVALID_PARAMETER_VALUE", str(exc)) from None
        run.job_parameters.update(body.get("job_parameters") or {})
        run.canceled = False
        repair = {"id": next(self._run_ids), "task_run_ids": []}
        for key in keys:
            run.outputs.pop(key, None)
            repair["task_run_ids"].append(self._new_task_run(run, key))
        run.repairs.append(repair)
        self._go(run, keys)
        return {"repair_id": repair["id"]}
