"""Evaluation: the labelled rows of a batch, and the model's metrics on them.

``eval_frame`` is the entry point ``evaluation_data``: the rows the promotion
gate, the retrain loop and the re-check evaluate a model on (features joined
with the labels that have arrived; the latest labelled batch by default).
"""

from __future__ import annotations

from devops_mlops.runtime import api
from devops_mlops.runtime.api import InputError

from .data import LABEL
from .features import FEATURES, training_frame

#: metrics every evaluation reports
REPORTED = ["mape", "rmse", "mae", "r2"]


def predict(model, frame):
    """Predictions for a feature frame (a scikit-learn model or an MLflow pyfunc model)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    # small data: one thread, as in training (OpenMP workers spinning on a busy 2-core agent cost 10x)
    with threadpool_limits(1):
        return np.asarray(model.predict(frame[FEATURES]), dtype="float64").reshape(-1)


def evaluate_model(model, frame, names: list[str] | None = None) -> dict[str, float]:
    return api.compute_metrics(names or REPORTED, frame[LABEL].to_numpy(), predict(model, frame))


def labelled_frame(s, batches: list[int]):
    """Feature rows of ``batches`` joined with their labels."""
    return training_frame(s.read(s.features_table, batches), s.read(s.labels_table, batches))


def eval_frame(s, batch: int | None = None):
    """Entry point ``evaluation_data``: the labelled rows of ``batch`` (default: the latest labelled)."""
    labelled = s.labelled_batches()
    if not labelled:
        raise InputError("no labelled batch to evaluate on")
    return labelled_frame(s, [labelled[-1] if batch is None else int(batch)])
