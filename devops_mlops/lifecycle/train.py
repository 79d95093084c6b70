"""Training and evaluation: the model, its metrics, and an MLflow run for it.

``fit`` and ``evaluate`` are pure; ``train_and_log`` trains on a frame, logs
parameters, metrics, the data window and the git commit to an MLflow run, logs
the model with its signature, and registers it when asked.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import asdict, dataclass, field
from typing import Any

from .data import LABEL
from .features import FEATURES

DEFAULT_PARAMS = {"max_iter": 200, "learning_rate": 0.1, "max_leaf_nodes": 31, "random_state": 0}
#: metrics every evaluation reports
REPORTED = ["mape", "rmse", "mae", "r2"]


def fit(frame, params: dict[str, Any] | None = None):
    """A fitted sklearn pipeline: the feature columns -> log-vehicles gradient boosting."""
    import numpy as np
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline

    if len(frame) == 0:
        from ..errors import InputError

        raise InputError("training: no labelled rows in the training window")
    p = {**DEFAULT_PARAMS, **(params or {})}
    model = Pipeline(
        [
            ("select", ColumnTransformer([("features", "passthrough", FEATURES)], verbose_feature_names_out=False)),
            (
                "regressor",
                TransformedTargetRegressor(
                    regressor=HistGradientBoostingRegressor(**p), func=np.log, inverse_func=np.exp, check_inverse=False
                ),
            ),
        ]
    )
    from threadpoolctl import threadpool_limits

    # small data: one thread; OpenMP workers spinning on a busy 2-core agent cost 10x
    with threadpool_limits(1):
        model.fit(frame[FEATURES], frame[LABEL].astype("float64"))
    return model


def evaluate(y_true, y_pred, names: list[str] | None = None) -> dict[str, float]:
    from ..core.metrics import compute_many

    return compute_many(names or REPORTED, y_true, y_pred)


def evaluate_model(model, frame, names: list[str] | None = None) -> dict[str, float]:
    return evaluate(frame[LABEL].to_numpy(), predict(model, frame), names)


def predict(model, frame):
    """Predictions for a feature frame (a sklearn model or an MLflow pyfunc model)."""
    import numpy as np

    return np.asarray(model.predict(frame[FEATURES]), dtype="float64").reshape(-1)


def trusted_types(model) -> list[str]:
    """The types skops must trust to load our own model (it was just trained here)."""
    import io

    import skops.io

    buffer = io.BytesIO()
    skops.io.dump(model, buffer)
    return skops.io.get_untrusted_types(data=buffer.getvalue())


def pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{dist}=={version(dist)}" for dist in ("scikit-learn", "pandas", "numpy", "skops", "mlflow")]


def git_commit(root) -> str | None:
    """The commit the code was trained from (None outside a git repository)."""
    sha = os.environ.get("BUILD_SOURCEVERSION")
    if sha:
        return sha
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], check=False, cwd=root, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@dataclass
class TrainResult:
    run_id: str
    model_uri: str
    metrics: dict[str, float]
    train_batches: list[int]
    eval_batch: int
    rows: int
    version: int | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ensure_experiment(session) -> str:
    """The project's experiment (artifacts under .mlops/ locally, never in the working directory)."""
    mlflow = session.mlflow()
    ctx = session.ctx
    name = f"/Shared/{ctx.config.project}" if ctx.target.backend == "databricks" else ctx.config.project
    experiment_id = ctx.registry.ensure_experiment(name)
    mlflow.set_experiment(experiment_id=experiment_id)
    return name


def train_and_log(
    session,
    train_frame,
    eval_frame,
    *,
    train_batches: list[int],
    eval_batch: int,
    register: bool = False,
    params: dict[str, Any] | None = None,
    run_name: str = "train",
    tags: dict[str, str] | None = None,
) -> TrainResult:
    """Train, evaluate on ``eval_frame``, log everything to one MLflow run; register when asked."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    mlflow = session.mlflow()
    ensure_experiment(session)
    model = fit(train_frame, params)
    metrics = evaluate_model(model, eval_frame)
    settings = session.settings
    first, _ = settings.window(min(train_batches))
    _, last = settings.window(max(train_batches))
    run_tags = {
        "mlops.project": session.config.project,
        "mlops.stage": run_name,
        "mlops.train_window": f"{first.isoformat()}..{last.isoformat()}",
        "mlops.train_batches": ",".join(str(b) for b in train_batches),
        "mlops.eval_batch": str(eval_batch),
        **(tags or {}),
    }
    commit = git_commit(session.ctx.root)
    if commit:
        run_tags["mlops.git_commit"] = commit
    with mlflow.start_run(run_name=run_name, tags=run_tags) as run:
        mlflow.log_params({**DEFAULT_PARAMS, **(params or {}), "rows": len(train_frame), "features": len(FEATURES)})
        mlflow.log_metrics(metrics)
        sample = train_frame[FEATURES].head(50)
        signature = infer_signature(sample, predict(model, sample))
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature,
            skops_trusted_types=trusted_types(model),
            # explicit: MLflow's inference of them starts a subprocess that loads the model (~10 s)
            pip_requirements=pip_requirements(),
        )
    result = TrainResult(
        run_id=run.info.run_id,
        model_uri=info.model_uri,
        metrics=metrics,
        train_batches=list(train_batches),
        eval_batch=eval_batch,
        rows=len(train_frame),
        tags=run_tags,
    )
    if register:
        result.version = register_model(session, result)
    return result


def register_model(session, result: TrainResult) -> int:
    """Register the run's model as a new version of the configured model; its number."""
    mlflow = session.mlflow()
    version = mlflow.register_model(
        result.model_uri,
        session.model_name,
        tags={
            "mlops.train_batches": ",".join(str(b) for b in result.train_batches),
            "mlops.eval_batch": str(result.eval_batch),
            **{f"mlops.metric.{k}": f"{v:.6g}" for k, v in result.metrics.items()},
            **({"mlops.git_commit": result.tags["mlops.git_commit"]} if "mlops.git_commit" in result.tags else {}),
        },
    )
    return int(version.version)


def load_model(session, uri: str):
    """An MLflow pyfunc model from a models:/ or runs:/ URI."""
    session.mlflow()
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(uri)
