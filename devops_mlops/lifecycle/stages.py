"""The lifecycle's stages as the notebooks call them (each one short call).

Every stage reads and writes tables through the session (Delta via deltalake
locally, Spark tables on Databricks), is idempotent per batch (a batch's rows
are replaced, never appended twice), and returns a small JSON-able dict the
notebook hands to ``dbutils.notebook.exit``.

Tables: ``raw_traffic`` (extracted features), ``traffic_labels`` (labels, which
arrive ``label_delay`` batches later), ``traffic_clean`` (prepared),
``traffic_features`` (the feature table: key, batch_id, features).
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from . import data as data_mod
from . import features as feat_mod
from . import tables as T
from .data import KEYS, LABEL


# ----------------------------------------------------------------------------- batches
def batch_ids(s, table: str) -> list[int]:
    return table_batches(s.tables, table)


def table_batches(tables, table: str) -> list[int]:
    """The batch ids present in ``table`` ([] when it does not exist)."""
    if not tables.exists(table):
        return []
    frame = tables.read(table, columns=["batch_id"]) if _takes_columns(tables) else tables.read(table)
    return sorted(int(b) for b in frame["batch_id"].unique())


def _takes_columns(tables) -> bool:
    import inspect

    try:
        return "columns" in inspect.signature(tables.read).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False


def parse_batches(s, text: str | int | None) -> list[int]:
    """'' or 'history' -> the history batches; 'next' -> the one after the latest extracted;
    'latest'; 'N'; 'A-B'; 'A,B,C'."""
    text = "" if text is None else str(text).strip()
    if text in ("", "history"):
        return list(range(s.settings.history_batches))
    if text in ("next", "latest"):
        have = batch_ids(s, T.RAW)
        if not have:
            return list(range(s.settings.history_batches)) if text == "next" else []
        return [have[-1] + 1] if text == "next" else [have[-1]]
    out: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = part.split("-", 1)
                out.extend(range(int(lo), int(hi) + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        raise InputError(f"batches: expected N, A-B, A,B or next/latest/history, got {text!r}") from None
    if any(b < 0 for b in out):
        raise InputError(f"batches: negative batch in {text!r}")
    return sorted(set(out))


# ----------------------------------------------------------------------------- stages
def extract(s, batches: list[int]) -> dict[str, Any]:
    """Extract and validate the raw rows of ``batches``; land the labels that have arrived."""
    settings = s.settings
    rows = 0
    for b in batches:
        frame = data_mod.generate_batch(settings, b, with_labels=False)
        data_mod.check_raw(frame, batch=b)
        s.tables.replace_where(T.RAW, frame, column="batch_id", value=b)
        rows += len(frame)
    latest = max(batch_ids(s, T.RAW) or [max(batches, default=-1)])
    arrived = labels_due(settings, latest)
    have = set(batch_ids(s, T.LABELS))
    landed = []
    for b in arrived:
        if b in have:
            continue
        _, labels = data_mod.split_labels(data_mod.generate_batch(settings, b))
        s.tables.replace_where(T.LABELS, labels, column="batch_id", value=b)
        landed.append(b)
    return {"stage": "extract", "batches": list(batches), "rows": rows, "labels_landed": landed}


def labels_due(settings, latest: int) -> list[int]:
    """Batches whose labels have arrived once ``latest`` is extracted: the history, and
    every batch at least ``label_delay`` older than ``latest``."""
    last = max(latest - settings.label_delay, settings.history_batches - 1)
    return list(range(min(last, latest) + 1))


def prepare(s, batches: list[int]) -> dict[str, Any]:
    raw = s.tables.read(T.RAW, where={"batch_id": list(batches)})
    if len(raw) == 0:
        raise InputError(f"prepare: no raw rows for batch(es) {batches} (run the extraction first)")
    clean = feat_mod.prepare(raw)
    for b in batches:
        s.tables.replace_where(T.CLEAN, clean[clean["batch_id"] == b], column="batch_id", value=b)
    return {"stage": "prepare", "batches": list(batches), "rows": len(clean), "dropped": len(raw) - len(clean)}


def build_features(s, batches: list[int]) -> dict[str, Any]:
    clean = s.tables.read(T.CLEAN, where={"batch_id": list(batches)})
    if len(clean) == 0:
        raise InputError(f"features: no prepared rows for batch(es) {batches} (run the preparation first)")
    feats = feat_mod.build_features(clean)
    for b in batches:
        s.tables.replace_where(T.FEATURES, feats[feats["batch_id"] == b], column="batch_id", value=b)
    return {"stage": "features", "batches": list(batches), "rows": len(feats), "table": s.tables.location(T.FEATURES)}


def ingest(s, batches: list[int]) -> dict[str, Any]:
    """A batch arrives: extract, prepare, features (what the inference job's first tasks do)."""
    out = extract(s, batches)
    prepare(s, batches)
    build_features(s, batches)
    return out


# ----------------------------------------------------------------------------- training data
def labelled_batches(s) -> list[int]:
    """Batches with both features and labels."""
    return sorted(set(batch_ids(s, T.LABELS)) & set(batch_ids(s, T.FEATURES)))


def labelled_frame(s, batches: list[int]):
    feats = s.tables.read(T.FEATURES, where={"batch_id": list(batches)})
    labels = s.tables.read(T.LABELS, where={"batch_id": list(batches)})
    return feat_mod.training_frame(feats, labels)


def train(s, *, register: bool = True, eval_batch: int | None = None) -> dict[str, Any]:
    """The first model: trained on the labelled batches before the latest, evaluated on the latest."""
    from .train import train_and_log

    labelled = labelled_batches(s)
    if len(labelled) < 2:
        raise InputError("train: need at least two labelled batches (run extract, prepare and features first)")
    eval_batch = labelled[-1] if eval_batch is None else eval_batch
    train_batches = [b for b in labelled if b < eval_batch]
    result = train_and_log(
        s,
        labelled_frame(s, train_batches),
        labelled_frame(s, [eval_batch]),
        train_batches=train_batches,
        eval_batch=eval_batch,
        register=register,
        run_name="train",
    )
    return {"stage": "train", **result.to_dict()}


def retrain_try(s, attempt: int, *, eval_batch: int | None = None, register: bool = False) -> dict[str, Any]:
    """Retrain try ``attempt``: train on the freshest ``window`` labelled batches before the
    evaluation batch (the latest labelled one), evaluate there. Not registered: the loop
    registers the first try that improves and passes the gate."""
    from .train import train_and_log

    labelled = labelled_batches(s)
    if not labelled:
        raise InputError("retrain: no labelled batches")
    eval_batch = labelled[-1] if eval_batch is None else eval_batch
    window = s.settings.retrain_window(attempt)
    before = [b for b in labelled if b < eval_batch]
    train_batches = before[-window:]
    if not train_batches:
        raise InputError(f"retrain: no labelled batch before the evaluation batch {eval_batch}")
    result = train_and_log(
        s,
        labelled_frame(s, train_batches),
        labelled_frame(s, [eval_batch]),
        train_batches=train_batches,
        eval_batch=eval_batch,
        register=register,
        run_name=f"retrain-try-{attempt}",
        tags={"mlops.retrain_attempt": str(attempt), "mlops.train_window_batches": str(window)},
    )
    return {"stage": "retrain", "attempt": attempt, "window": window, **result.to_dict()}


def eval_frame(s, batch: int | None = None):
    """The labelled rows the gate evaluates on: the latest labelled batch by default."""
    labelled = labelled_batches(s)
    if not labelled:
        raise InputError("no labelled batch to evaluate on")
    return labelled_frame(s, [labelled[-1] if batch is None else batch])


def label_column() -> str:
    return LABEL


def keys() -> list[str]:
    return list(KEYS)


# ----------------------------------------------------------------------------- registry
def gate(s, version: int, *, batch: int | None = None) -> dict[str, Any]:
    """The promotion gate (the registry use case) on the latest labelled batch; CheckFailed when it fails."""
    from ..errors import CheckFailed
    from ..ops.model import validate

    result = validate(s.ctx, int(version), eval_frame(s, batch))
    doc = {"stage": "validate", **result.to_dict()}
    if not result.passed:
        raise CheckFailed(f"model {result.model} v{result.version} failed the gate: {result.gate.summary()}")
    return doc


def promote(s, version: int, slot: str = "production", *, batch: int | None = None) -> dict[str, Any]:
    from ..ops.model import promote as promote_version

    result = promote_version(s.ctx, int(version), slot, eval_frame=eval_frame(s, batch))
    return {"stage": "promote", **result.to_dict()}
