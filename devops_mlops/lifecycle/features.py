"""Data preparation and feature engineering (pure pandas, no I/O).

``prepare`` cleans a raw extract (types, duplicates, impossible values);
``build_features`` turns clean rows into the feature table's rows: the record
key, the ``batch_id`` and the model's input columns :data:`FEATURES`.
``training_frame`` joins features with the labels that have arrived.
"""

from __future__ import annotations

from .data import KEYS, LABEL, WEATHER

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


def _as_date(series):
    import pandas as pd

    return pd.to_datetime(series).dt.date


def prepare(raw):
    """Clean a raw extract: typed columns, one row per key (the last wins), sane ranges."""
    import pandas as pd

    frame = raw.copy()
    frame["date"] = _as_date(frame["date"])
    frame["plaza"] = frame["plaza"].astype(str).str.strip().str.upper()
    frame["weather"] = frame["weather"].astype(str).str.strip().str.lower()
    for col in ("urban", "holiday", "event"):
        frame[col] = frame[col].astype(bool)
    for col in ("lanes_total", "lanes_open", "weekday", "batch_id"):
        frame[col] = pd.to_numeric(frame[col]).astype("int64")
    for col in ("base_price", "price", "temp_c"):
        frame[col] = pd.to_numeric(frame[col]).astype("float64")
    frame = frame.drop_duplicates(subset=KEYS, keep="last")
    frame["lanes_open"] = frame["lanes_open"].clip(lower=1)
    frame["lanes_open"] = frame[["lanes_open", "lanes_total"]].min(axis=1)
    frame["temp_c"] = frame["temp_c"].clip(-40, 50)
    frame = frame[frame["price"] > 0]
    return frame.sort_values(KEYS).reset_index(drop=True)


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


def training_frame(features, labels):
    """Features joined with their labels (rows without a label yet are left out)."""
    import pandas as pd

    feats = features.copy()
    labs = labels[KEYS + [LABEL]].copy()
    feats["date"] = _as_date(feats["date"])
    labs["date"] = _as_date(labs["date"])
    joined = pd.merge(feats, labs, on=KEYS, how="inner")
    return joined.sort_values(KEYS).reset_index(drop=True)
