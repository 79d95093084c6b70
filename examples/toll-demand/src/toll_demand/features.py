"""Feature engineering: the model's inputs.

``build_features`` (pure pandas) turns prepared rows into the feature table's
rows: the record key, the ``batch_id`` and the model's input columns
:data:`FEATURES` (edit that list, or the columns below, to change what the
model is trained on). ``build`` is the notebook's stage: prepared batches in,
the feature table (``model.features_table`` in mlops.yaml) out.
``training_frame`` joins features with the labels that have arrived.
"""

from __future__ import annotations

from typing import Any

from .data import KEYS, LABEL, WEATHER
from .preparation import CLEAN, as_date

#: the model's input columns, in order
FEATURES = [
    "plaza_code",
    "region_code",
    "urban",
    "lanes_total",
    "base_price",
    "weekday",
    "is_weekend",
    "holiday",
    "weather_code",
    "temp_c",
    "lanes_open",
    "lanes_ratio",
    "price",
    "price_ratio",
    "event",
]
_REGION_CODES = {"north": 0, "coast": 1, "valley": 2}


def build_features(clean):
    """Feature rows: KEYS + batch_id + FEATURES."""
    import numpy as np
    import pandas as pd

    dates = pd.to_datetime(clean["date"])
    doy = dates.dt.day_of_year.to_numpy()
    out = pd.DataFrame(
        {
            "plaza": clean["plaza"].to_numpy(),
            "date": clean["date"].to_numpy(),
            "batch_id": clean["batch_id"].to_numpy(),
            "plaza_code": clean["plaza"].str.extract(r"(\d+)", expand=False).fillna("0").astype("int64").to_numpy(),
            "region_code": clean["region"].map(_REGION_CODES).fillna(-1).astype("int64").to_numpy(),
            "urban": clean["urban"].astype("int64").to_numpy(),
            "lanes_total": clean["lanes_total"].to_numpy(),
            "base_price": clean["base_price"].to_numpy(),
            "weekday": clean["weekday"].to_numpy(),
            "is_weekend": (clean["weekday"] >= 5).astype("int64").to_numpy(),
            "holiday": clean["holiday"].astype("int64").to_numpy(),
            "weather_code": clean["weather"]
            .map({w: i for i, w in enumerate(WEATHER)})
            .fillna(-1)
            .astype("int64")
            .to_numpy(),
            "temp_c": clean["temp_c"].to_numpy(),
            "lanes_open": clean["lanes_open"].to_numpy(),
            "lanes_ratio": (clean["lanes_open"] / clean["lanes_total"]).to_numpy(),
            "price": clean["price"].to_numpy(),
            "price_ratio": (clean["price"] / clean["base_price"]).to_numpy(),
            "month": dates.dt.month.astype("int64").to_numpy(),
            "doy_sin": np.sin(2 * np.pi * doy / 365.25),
            "doy_cos": np.cos(2 * np.pi * doy / 365.25),
            "event": clean["event"].astype("int64").to_numpy(),
        }
    )
    return out


def build(s, batches: list[int]) -> dict[str, Any]:
    """Stage: the feature rows of ``batches`` from the prepared table into the feature table."""
    _, feats = s.transform(CLEAN, s.features_table, build_features, batches,
                           missing=f"features: no prepared rows for batch(es) {batches} (run the preparation first)")
    return {"stage": "features", "batches": list(batches), "rows": len(feats), "table": s.tables.location(s.features_table)}


def training_frame(features, labels):
    """Features joined with their labels (rows without a label yet are left out)."""
    import pandas as pd

    feats = features.copy()
    labs = labels[KEYS + [LABEL]].copy()
    feats["date"] = as_date(feats["date"])
    labs["date"] = as_date(labs["date"])
    joined = pd.merge(feats, labs, on=KEYS, how="inner")
    return joined.sort_values(KEYS).reset_index(drop=True)
