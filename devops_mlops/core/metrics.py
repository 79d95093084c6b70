"""Model metrics by name, in plain numpy: the promotion gate and monitoring use them.

``compute("rmse", y_true, y_pred)``; ``higher_is_better("r2")``. Regression:
rmse, mae, mape, r2. Classification: accuracy, f1, roc_auc (``y_pred`` may be
scores/probabilities for roc_auc; for f1 and accuracy it is the predicted label).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import InputError

__all__ = ["METRICS", "compute", "compute_many", "higher_is_better", "known"]


def _arrays(y_true: Any, y_pred: Any):
    import numpy as np

    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    if t.shape[0] != p.shape[0]:
        raise InputError(f"metrics: {t.shape[0]} labels but {p.shape[0]} predictions")
    if t.shape[0] == 0:
        raise InputError("metrics: no rows to evaluate")
    return t, p


def _float_arrays(y_true, y_pred):
    t, p = _arrays(y_true, y_pred)
    try:
        return t.astype(float), p.astype(float)
    except (TypeError, ValueError):
        raise InputError("metrics: a regression metric needs numeric labels and predictions") from None


def rmse(y_true, y_pred) -> float:
    import numpy as np

    t, p = _float_arrays(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def mae(y_true, y_pred) -> float:
    import numpy as np

    t, p = _float_arrays(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def mape(y_true, y_pred) -> float:
    """Mean absolute percentage error as a fraction (0.1 = 10%); rows with a zero label are skipped."""
    import numpy as np

    t, p = _float_arrays(y_true, y_pred)
    keep = t != 0
    if not keep.any():
        raise InputError("metrics: mape is undefined when every label is 0")
    return float(np.mean(np.abs((t[keep] - p[keep]) / t[keep])))


def r2(y_true, y_pred) -> float:
    import numpy as np

    t, p = _float_arrays(y_true, y_pred)
    ss_res = float(np.sum((t - p) ** 2))
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    if ss_tot == 0.0:
        return 1.0 if ss_res == 0.0 else 0.0
    return 1.0 - ss_res / ss_tot


def accuracy(y_true, y_pred) -> float:
    import numpy as np

    t, p = _arrays(y_true, y_pred)
    return float(np.mean(t == p))


def f1(y_true, y_pred) -> float:
    """Binary: F1 of the positive class (the larger label); more classes: macro F1."""
    import numpy as np

    t, p = _arrays(y_true, y_pred)
    classes = np.unique(np.concatenate([t, p]))
    positives = classes[-1:] if len(classes) <= 2 else classes
    scores = []
    for c in positives:
        tp = float(np.sum((p == c) & (t == c)))
        fp = float(np.sum((p == c) & (t != c)))
        fn = float(np.sum((p != c) & (t == c)))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def roc_auc(y_true, y_score) -> float:
    """Binary ROC AUC (Mann-Whitney, ties counted half); ``y_score`` ranks the positive class."""
    import numpy as np

    t, s = _arrays(y_true, y_score)
    classes = np.unique(t)
    if len(classes) != 2:
        raise InputError(f"metrics: roc_auc needs exactly two label classes, found {len(classes)}")
    pos = t == classes[1]
    s = s.astype(float)
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=float)
    sorted_s = s[order]
    # average ranks over ties
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    n_pos = float(pos.sum())
    n_neg = float(len(s) - n_pos)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


#: name -> (function, higher is better)
METRICS: dict[str, tuple[Callable[[Any, Any], float], bool]] = {
    "rmse": (rmse, False),
    "mae": (mae, False),
    "mape": (mape, False),
    "r2": (r2, True),
    "accuracy": (accuracy, True),
    "f1": (f1, True),
    "roc_auc": (roc_auc, True),
}


def known(name: str) -> bool:
    return name in METRICS


def _lookup(name: str):
    try:
        return METRICS[name]
    except KeyError:
        raise InputError(f"unknown metric {name!r} (known: {', '.join(METRICS)})") from None


def higher_is_better(name: str) -> bool:
    return _lookup(name)[1]


def compute(name: str, y_true: Any, y_pred: Any) -> float:
    return _lookup(name)[0](y_true, y_pred)


def compute_many(names: list[str], y_true: Any, y_pred: Any) -> dict[str, float]:
    return {name: compute(name, y_true, y_pred) for name in names}
