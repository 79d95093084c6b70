"""Logging a trained scikit-learn model to MLflow for :meth:`Session.log_model`.

One run in the project's experiment (artifacts under .mlops/ locally, never in
the working directory): parameters, metrics, the tags the toolkit reads later
(``mlops.train_window``, ``mlops.train_batches``, ``mlops.eval_batch``,
``mlops.git_commit``), the model saved with skops and its input signature.
"""

from __future__ import annotations

from typing import Any


def ensure_experiment(session) -> str:
    """The project's experiment, made the active one: log_model always logs there, whatever
    MLFLOW_EXPERIMENT_NAME/_ID choose for the project code's own runs."""
    session.ctx.registry.activate()
    return session.use_project_experiment()


def trusted_types(model) -> list[str]:
    """The types skops must trust to load the model (it was just trained here)."""
    import io

    import skops.io

    buffer = io.BytesIO()
    skops.io.dump(model, buffer)
    return skops.io.get_untrusted_types(data=buffer.getvalue())


def pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{dist}=={version(dist)}" for dist in ("scikit-learn", "pandas", "numpy", "skops", "mlflow")]


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def log_sklearn_model(session, model, *, sample, metrics: dict[str, float], params: dict[str, Any] | None,
                      run_name: str, train_batches: list[int], eval_batch: int | None,
                      window: tuple[Any, Any] | None, tags: dict[str, str], register: bool):
    import mlflow.sklearn
    import numpy as np
    from mlflow.models import infer_signature

    from .api import TrainResult
    from ..kernel.threads import threads_for

    mlflow = session.mlflow()
    ensure_experiment(session)
    run_tags = {"mlops.project": session.config.project, "mlops.stage": run_name}
    if window is not None:
        run_tags["mlops.train_window"] = f"{_iso(window[0])}..{_iso(window[1])}"
    if train_batches:
        run_tags["mlops.train_batches"] = ",".join(str(b) for b in train_batches)
    if eval_batch is not None:
        run_tags["mlops.eval_batch"] = str(eval_batch)
    run_tags.update(tags)
    from ..ops.model_promote import git_commit

    commit = git_commit(session.root)
    if commit:
        run_tags["mlops.git_commit"] = commit
    metrics = {k: float(v) for k, v in metrics.items()}
    inputs = [str(c) for c in sample.columns]
    with mlflow.start_run(run_name=run_name, tags=run_tags) as run:
        mlflow.log_params({**(params or {}), "features": len(inputs)})
        mlflow.log_metrics(metrics)
        head = sample.head(50)
        with threads_for(len(head)):
            signature = infer_signature(head, np.asarray(model.predict(head), dtype="float64").reshape(-1))
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            skops_trusted_types=trusted_types(model),
            # explicit: MLflow's inference of them starts a subprocess that loads the model (~10 s)
            pip_requirements=pip_requirements(),
        )
    rows = int((params or {}).get("rows", len(sample)))
    result = TrainResult(run.info.run_id, info.model_uri, metrics, list(train_batches), eval_batch, rows, inputs,
                         tags=run_tags)
    if register:
        version_tags = {k: v for k, v in run_tags.items()
                        if k in ("mlops.train_batches", "mlops.eval_batch", "mlops.git_commit")}
        version_tags.update({f"mlops.metric.{k}": f"{v:.6g}" for k, v in metrics.items()})
        result.version = session.register(result.model_uri, tags=version_tags)
    return result
