"""Data preparation: raw extracts cleaned (types, duplicates, impossible values).

``clean`` is pure pandas; ``prepare`` is the notebook's stage: the raw table's
batches in, the prepared table (:data:`CLEAN`) out, each batch replaced.
"""

from __future__ import annotations

from typing import Any

from .data import KEYS
from .extraction import RAW

CLEAN = "traffic_clean"


def as_date(series):
    import pandas as pd

    return pd.to_datetime(series).dt.date


def clean(raw):
    """Clean a raw extract: typed columns, one row per key (the last wins), sane ranges."""
    import pandas as pd

    frame = raw.copy()
    frame["date"] = as_date(frame["date"])
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



def prepare(s, batches: list[int]) -> dict[str, Any]:
    """Stage: clean the raw rows of ``batches`` into the prepared table."""
    raw, cleaned = s.transform(RAW, CLEAN, clean, batches,
                               missing=f"prepare: no raw rows for batch(es) {batches} (run the extraction first)")
    return {"stage": "prepare", "batches": list(batches), "rows": len(cleaned), "dropped": len(raw) - len(cleaned)}
