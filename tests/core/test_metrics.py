import numpy as np
import pytest
from sklearn import metrics as skm

from devops_mlops.core import metrics
from devops_mlops.errors import InputError

pytestmark = pytest.mark.fast

RNG = np.random.default_rng(7)
Y = RNG.normal(10, 3, size=50)
P = Y + RNG.normal(0, 1, size=50)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rmse", float(np.sqrt(skm.mean_squared_error(Y, P)))),
        ("mae", skm.mean_absolute_error(Y, P)),
        ("mape", skm.mean_absolute_percentage_error(Y, P)),
        ("r2", skm.r2_score(Y, P)),
    ],
)
def test_regression_metrics_match_sklearn(name, expected):
    assert metrics.compute(name, Y, P) == pytest.approx(expected, rel=1e-9)


def test_classification_metrics_match_sklearn():
    y = RNG.integers(0, 2, size=80)
    score = np.clip(y * 0.3 + RNG.uniform(0, 0.7, size=80), 0, 1)
    score[:10] = 0.5  # ties count half
    pred = (score > 0.5).astype(int)
    assert metrics.compute("accuracy", y, pred) == pytest.approx(skm.accuracy_score(y, pred))
    assert metrics.compute("f1", y, pred) == pytest.approx(skm.f1_score(y, pred))
    assert metrics.compute("roc_auc", y, score) == pytest.approx(skm.roc_auc_score(y, score))


def test_multiclass_f1_is_macro():
    y = np.array(["a", "b", "c", "a", "b", "c", "a"])
    p = np.array(["a", "b", "b", "a", "c", "c", "b"])
    assert metrics.compute("f1", y, p) == pytest.approx(skm.f1_score(y, p, average="macro"))


def test_directions_and_errors():
    assert metrics.higher_is_better("r2") and not metrics.higher_is_better("rmse")
    assert metrics.compute_many(["rmse", "mae"], [1, 2], [1, 2]) == {"rmse": 0.0, "mae": 0.0}
    assert metrics.compute("r2", [2, 2], [2, 2]) == 1.0
    with pytest.raises(InputError, match="unknown metric"):
        metrics.compute("nope", [1], [1])
    with pytest.raises(InputError, match="2 labels but 1"):
        metrics.compute("rmse", [1, 2], [1])
    with pytest.raises(InputError, match="no rows"):
        metrics.compute("rmse", [], [])
    with pytest.raises(InputError, match="every label is 0"):
        metrics.compute("mape", [0, 0], [1, 1])
    with pytest.raises(InputError, match="two label classes"):
        metrics.compute("roc_auc", [1, 1], [0.2, 0.3])
    # a column-vector prediction (pyfunc output) is accepted
    assert metrics.compute("rmse", [1.0, 2.0], np.array([[1.0], [2.0]])) == 0.0
