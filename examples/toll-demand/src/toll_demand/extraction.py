"""Data extraction and validation: batches from the synthetic source into the raw table.

``extract`` generates and validates the batches asked for (schema, nulls,
duplicates, ranges) into :data:`RAW`, and lands the labels that have arrived
(``label_delay`` batches later) in the labels table (``model.labels_table``).
Each batch's rows are replaced, so running a batch again changes nothing.
"""

from __future__ import annotations

from typing import Any

from devops_mlops.runtime import api

from . import data

RAW = "raw_traffic"


def parse_batches(s, text: str | int | None) -> list[int]:
    """The batches a widget names: '' or 'history', 'next', 'latest', 'N', 'A-B', 'A,B'."""
    settings = data.settings_of(s)
    return api.parse_batches(text, history=range(settings.history_batches), existing=s.batches(RAW))


def labels_due(settings: data.DataSettings, latest: int) -> list[int]:
    """Batches whose labels have arrived once ``latest`` is extracted: the history, and
    every batch at least ``label_delay`` older than ``latest``."""
    last = max(latest - settings.label_delay, settings.history_batches - 1)
    return list(range(min(last, latest) + 1))


def extract(s, batches: list[int]) -> dict[str, Any]:
    """Stage: extract and validate the raw rows of ``batches``; land the labels that have arrived."""
    settings = data.settings_of(s)
    rows = 0
    for b in batches:
        frame = data.generate_batch(settings, b, with_labels=False)
        data.check_raw(frame, batch=b)
        s.replace(RAW, frame, [b])
        rows += len(frame)
    latest = max(s.batches(RAW) or [max(batches, default=-1)])
    have = set(s.batches(s.labels_table))
    landed = []
    for b in labels_due(settings, latest):
        if b in have:
            continue
        _, labels = data.split_labels(data.generate_batch(settings, b))
        s.replace(s.labels_table, labels, [b])
        landed.append(b)
    return {"stage": "extract", "batches": list(batches), "rows": rows, "labels_landed": landed}
