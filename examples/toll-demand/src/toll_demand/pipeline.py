"""Entry point ``ingest``: a batch arrives (what the inference job's first tasks do)."""

from __future__ import annotations

from typing import Any

from . import features, preparation
from .extraction import extract


def ingest(s, batches: list[int]) -> dict[str, Any]:
    """Extract, prepare and build the features of ``batches``."""
    out = extract(s, batches)
    preparation.prepare(s, batches)
    features.build(s, batches)
    return out
