"""Training: the model, fitted on the labelled batches, logged and registered through the runtime API.

``fit`` is pure scikit-learn. ``train`` (the training notebook, and the entry
point ``train``) fits the first model on the labelled batches before the latest
and evaluates it on the latest; ``retrain`` (the retrain notebook, and the entry
point ``retrain``) is one try of the retrain loop on a fresher, shorter window.
Both log one MLflow run through :meth:`Session.log_model`.
"""

from __future__ import annotations

from typing import Any

from devops_mlops.runtime.api import InputError

from . import data
from .evaluation import evaluate_model, labelled_frame
from .features import FEATURES

DEFAULT_PARAMS = {"max_iter": 200, "learning_rate": 0.1, "max_leaf_nodes": 31, "random_state": 0}


def fit(frame, params: dict[str, Any] | None = None):
    """A fitted scikit-learn pipeline: the FEATURES columns -> log-vehicles gradient boosting."""
    import numpy as np
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from threadpoolctl import threadpool_limits

    if len(frame) == 0:
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
    # small data: one thread; OpenMP workers spinning on a busy 2-core agent cost 10x
    with threadpool_limits(1):
        model.fit(frame[FEATURES], frame[data.LABEL].astype("float64"))
    return model


def _train_and_log(s, train_batches: list[int], eval_batch: int, *, register: bool, run_name: str,
                   tags: dict[str, str] | None = None, params: dict[str, Any] | None = None):
    settings = data.settings_of(s)
    train = labelled_frame(s, train_batches)
    model = fit(train, params)
    metrics = evaluate_model(model, labelled_frame(s, [eval_batch]))
    window = (settings.window(min(train_batches))[0], settings.window(max(train_batches))[1])
    return s.log_model(model, sample=train[FEATURES], metrics=metrics,
                       params={**DEFAULT_PARAMS, **(params or {}), "rows": len(train)}, run_name=run_name,
                       train_batches=train_batches, eval_batch=eval_batch, window=window, tags=tags,
                       register=register)


def train(s, *, register: bool = True, eval_batch: int | None = None) -> dict[str, Any]:
    """Entry point ``train``: the first model, trained on the labelled batches before the latest,
    evaluated on the latest."""
    labelled = s.labelled_batches()
    if len(labelled) < 2:
        raise InputError("train: need at least two labelled batches (run extract, prepare and features first)")
    eval_batch = labelled[-1] if eval_batch is None else eval_batch
    result = _train_and_log(s, [b for b in labelled if b < eval_batch], eval_batch, register=register,
                            run_name="train")
    return {"stage": "train", **result.to_dict()}


def retrain(s, attempt: int, eval_batch: int | None = None, *, register: bool = False) -> dict[str, Any]:
    """Entry point ``retrain``: try ``attempt`` trains on the freshest ``data.retrain.windows[attempt-1]``
    labelled batches before the evaluation batch (the latest labelled one) and evaluates there. Not
    registered: the loop registers the first try that improves and passes the gate."""
    labelled = s.labelled_batches()
    if not labelled:
        raise InputError("retrain: no labelled batches")
    eval_batch = labelled[-1] if eval_batch is None else int(eval_batch)
    window = data.settings_of(s).retrain_window(int(attempt))
    train_batches = [b for b in labelled if b < eval_batch][-window:]
    if not train_batches:
        raise InputError(f"retrain: no labelled batch before the evaluation batch {eval_batch}")
    result = _train_and_log(s, train_batches, eval_batch, register=register, run_name=f"retrain-try-{attempt}",
                            tags={"mlops.retrain_attempt": str(attempt), "mlops.train_window_batches": str(window)})
    return {"stage": "retrain", "attempt": int(attempt), "window": window, **result.to_dict(),
            "candidate": result.model_uri}
