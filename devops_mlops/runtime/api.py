"""The runtime API: what a project's notebooks and its own package call on any target.

A notebook opens a session from its ``target`` widget and works through it::

    from devops_mlops.runtime import api

    s = api.session(dbutils.widgets.get("target"))
    s.replace(s.features_table, frame, batches=[7])      # each batch's rows replaced, never appended twice
    rows = s.read(s.features_table, batches=[7])
    result = s.log_model(model, sample=train[inputs], metrics={"rmse": 1.2}, register=True)
    s.gate(result.version)                               # the promotion gate; CheckFailed when it fails

``mlops.yaml`` is found from the working directory upwards (the notebook's
folder locally, the Git folder or synced folder on Databricks), or named with
``config`` / ``MLOPS_CONFIG``. The session is the one the use cases hand the
project's entry points (:class:`devops_mlops.ops.session.Session`), plus
:meth:`Session.mlflow` for a notebook's own MLflow calls; the helpers below
(batch selection, task values, metrics) are for notebooks only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from ..core.metrics import compute_many
from ..errors import CheckFailed, ConfigError, InputError
from ..ops import session as _session
from ..ops.model_log import TrainResult

__all__ = [
    "CheckFailed",
    "ConfigError",
    "InputError",
    "Session",
    "TrainResult",
    "compute_metrics",
    "parse_batches",
    "session",
    "widget_or_task_value",
]


class Session(_session.Session):
    """The training session as a notebook sees it: the use cases' session, and MLflow at hand."""

    def mlflow(self) -> ModuleType:
        """The mlflow module, for the notebook's own MLflow calls: pointed at the target's tracking and
        registry URIs and at the project's experiment (``/Shared/<project>`` on Databricks, where a
        job's notebook would otherwise log to an experiment of its own path), unless
        MLFLOW_EXPERIMENT_NAME or _ID names another. The toolkit itself never calls it."""
        registry = self.ctx.registry
        registry.activate()
        if not getattr(self, "_experiment_set", False):
            if not (os.environ.get("MLFLOW_EXPERIMENT_NAME") or os.environ.get("MLFLOW_EXPERIMENT_ID")):
                self.use_project_experiment()
            self._experiment_set = True
        import mlflow

        return mlflow


def session(target: str | None = None, *, config: str | None = None, ctx: Any = None) -> Session:
    """The session of ``target`` (empty or None: the default target)."""
    from ..kernel.libraries import install_task_libraries

    install_task_libraries()  # serverless notebook tasks: what deploy shipped (no-op elsewhere)
    if ctx is None:
        from ..context import Context

        ctx = Context.create(config_path=config or os.environ.get("MLOPS_CONFIG") or None, target=target or None)
    return Session(ctx)


def parse_batches(text: str | int | None, *, history: Iterable[int], existing: Iterable[int]) -> list[int]:
    """Batch selection as widgets give it: '' or 'history' -> ``history``; 'next' -> the one after
    the latest of ``existing`` (``history`` when there is none); 'latest'; 'N'; 'A-B'; 'A,B,C'."""
    text = "" if text is None else str(text).strip()
    have = sorted(existing)
    if text in ("", "history"):
        return list(history)
    if text == "next":
        return [have[-1] + 1] if have else list(history)
    if text == "latest":
        return have[-1:]
    out: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = part.split("-", 1)
                out.extend(range(int(lo), int(hi) + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        raise InputError(f"batches: expected N, A-B, A,B or next/latest/history, got {text!r}") from None
    if any(b < 0 for b in out):
        raise InputError(f"batches: negative batch in {text!r}")
    return sorted(set(out))


def widget_or_task_value(dbutils: Any, name: str, task: str, *, default: str = "") -> str:
    """The widget ``name`` when it is set, else the task value ``name`` that ``task`` set earlier in
    the job run (``dbutils.jobs.taskValues``; ``default`` outside a job)."""
    value = dbutils.widgets.get(name)
    if value:
        return value
    return str(dbutils.jobs.taskValues.get(task, name, default=default, debugValue=default))


def compute_metrics(names: list[str], y_true: Any, y_pred: Any) -> dict[str, float]:
    """The named metrics (rmse, mae, mape, r2, accuracy, f1, roc_auc) of predictions against labels:
    the same definitions the gate and the monitoring use."""
    return compute_many(names, y_true, y_pred)
