"""Logging a trained scikit-learn model for :meth:`Session.log_model <devops_mlops.ops.session.Session.log_model>`.

One run in the project's experiment, made the active one whatever
MLFLOW_EXPERIMENT_NAME/_ID choose for the project code's own runs (artifacts
under .mlops/ locally, never in the working directory): parameters, metrics,
the tags the toolkit reads later (``mlops.train_window``, ``mlops.train_batches``,
``mlops.eval_batch``, ``mlops.git_commit``), and the model with its input
signature, all through the registry port (``ctx.registry.log_training_run``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .model_promote import git_commit

#: run tags a registered version carries too
_VERSION_TAGS = ("mlops.train_batches", "mlops.eval_batch", "mlops.git_commit")


@dataclass
class TrainResult:
    """A logged (and maybe registered) model: what a training notebook exits with."""

    run_id: str
    model_uri: str
    metrics: dict[str, float]
    train_batches: list[int]
    eval_batch: int | None
    rows: int
    inputs: list[str]
    version: int | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def run_tags(session, *, run_name: str, train_batches: list[int], eval_batch: int | None,
             window: tuple[Any, Any] | None, tags: dict[str, str]) -> dict[str, str]:
    """The tags of a training run: project, stage, data window and batches, the caller's, the commit."""
    out = {"mlops.project": session.config.project, "mlops.stage": run_name}
    if window is not None:
        out["mlops.train_window"] = f"{_iso(window[0])}..{_iso(window[1])}"
    if train_batches:
        out["mlops.train_batches"] = ",".join(str(b) for b in train_batches)
    if eval_batch is not None:
        out["mlops.eval_batch"] = str(eval_batch)
    out.update(tags)
    commit = git_commit(session.ctx.git)
    if commit:
        out["mlops.git_commit"] = commit
    return out


def log_sklearn_model(session, model, *, sample, metrics: dict[str, float], params: dict[str, Any] | None,
                      run_name: str, train_batches: list[int], eval_batch: int | None,
                      window: tuple[Any, Any] | None, tags: dict[str, str], register: bool) -> TrainResult:
    """Log ``model`` in one run of the project's experiment (and register it when asked); a TrainResult."""
    registry = session.ctx.registry
    tagged = run_tags(session, run_name=run_name, train_batches=train_batches, eval_batch=eval_batch,
                      window=window, tags=tags)
    metrics = {k: float(v) for k, v in metrics.items()}
    inputs = [str(c) for c in sample.columns]
    logged = registry.log_training_run(
        model, sample=sample, experiment=session.experiment_name, run_name=run_name,
        params={**(params or {}), "features": len(inputs)}, metrics=metrics, tags=tagged,
    )
    rows = int((params or {}).get("rows", len(sample)))
    result = TrainResult(logged.run_id, logged.model_uri, metrics, list(train_batches), eval_batch, rows, inputs,
                         tags=tagged)
    if register:
        version_tags = {k: v for k, v in tagged.items() if k in _VERSION_TAGS}
        version_tags.update({f"mlops.metric.{k}": f"{v:.6g}" for k, v in metrics.items()})
        result.version = registry.register(result.model_uri, session.model_name, version_tags)
    return result
