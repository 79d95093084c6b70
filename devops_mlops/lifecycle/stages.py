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

import json
from typing import Any

from ..errors import InputError
from . import data as data_mod
from . import features as feat_mod
from ..runtime import tables as T
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


def _per_batch(s, source: str, target: str, transform, batches: list[int], missing: str):
    """Read ``batches`` of ``source``, transform them, replace each batch's rows in ``target``."""
    rows = s.tables.read(source, where={"batch_id": list(batches)})
    if len(rows) == 0:
        raise InputError(missing)
    out = transform(rows)
    for b in batches:
        s.tables.replace_where(target, out[out["batch_id"] == b], column="batch_id", value=b)
    return rows, out


def prepare(s, batches: list[int]) -> dict[str, Any]:
    raw, clean = _per_batch(s, T.RAW, T.CLEAN, feat_mod.prepare, batches,
                            f"prepare: no raw rows for batch(es) {batches} (run the extraction first)")
    return {"stage": "prepare", "batches": list(batches), "rows": len(clean), "dropped": len(raw) - len(clean)}


def build_features(s, batches: list[int]) -> dict[str, Any]:
    _, feats = _per_batch(s, T.CLEAN, T.FEATURES, feat_mod.build_features, batches,
                          f"features: no prepared rows for batch(es) {batches} (run the preparation first)")
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
    return {"stage": "retrain", "attempt": attempt, "window": window, **result.to_dict(), "candidate": result.model_uri}


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


# ----------------------------------------------------------------------------- a retrain candidate
# The Data Factory retrain pipeline (docs/adf.md) hands the retrain notebook's exit value on as
# ``candidate`` to the re-check, register, promote, commit and score notebooks.
def parse_candidate(text: Any) -> dict[str, Any]:
    """The candidate a retrain try hands on: its exit JSON (``candidate`` or ``model_uri``, ``run_id``,
    ``eval_batch``, ``attempt``, ``metrics``, ``train_batches``), or a bare model URI, run id or version.
    Returns that document with ``candidate`` (the model URI; None for a bare version) filled in."""
    raw = "" if text is None else str(text).strip()
    doc: dict[str, Any]
    if raw.startswith("{"):
        try:
            doc = json.loads(raw)
        except ValueError:
            raise InputError(f"candidate: not valid JSON: {raw[:120]!r}") from None
    elif raw.isdigit():
        doc = {"version": int(raw)}
    elif raw.startswith(("runs:/", "models:/")):
        doc = {"candidate": raw}
    elif raw:
        doc = {"run_id": raw}
    else:
        raise InputError("candidate: empty (the retrain notebook's exit value: a model URI, run id or version)")
    uri = doc.get("candidate") or doc.get("model_uri") or (f"runs:/{doc['run_id']}/model" if doc.get("run_id") else None)
    parts = str(uri or "").split("/")
    if uri and uri.startswith("runs:/") and not doc.get("run_id"):
        doc["run_id"] = parts[1]
    if uri and uri.startswith("models:/") and len(parts) == 3 and parts[2].isdigit() and doc.get("version") is None:
        doc["version"] = int(parts[2])
    if uri is None and doc.get("version") is None:
        raise InputError(f"candidate: no model URI, run id or version in {raw[:120]!r}")
    return {**doc, "candidate": uri}


def find_candidate(s, candidate: Any):
    """The registered version (ModelVersion) of ``candidate``, None when it is not registered yet."""
    c = parse_candidate(candidate)
    registry = s.ctx.registry
    if c.get("version") is not None:
        return registry.get_version(s.model_name, int(c["version"]))
    for v in reversed(registry.get_model(s.model_name, with_metrics=False)):
        if v.tags.get("mlops.candidate") == c["candidate"] or (c.get("run_id") and v.run_id == c["run_id"]):
            return v
    return None


def candidate_version(s, candidate: Any) -> int:
    found = find_candidate(s, candidate)
    if found is None:
        raise InputError(f"candidate {parse_candidate(candidate)['candidate']} is not registered (run the register step first)")
    return int(found.version)


def register_candidate(s, candidate: Any, *, attempt: Any = None) -> dict[str, Any]:
    """Register the candidate as a new version (once: a re-run finds it) and pass it through the gate
    (CheckFailed when it fails) on the window it was evaluated on."""
    c = parse_candidate(candidate)
    found = find_candidate(s, candidate)
    if found is None:
        mlflow = s.mlflow()
        tags = {
            "mlops.candidate": c["candidate"],
            "mlops.retrain.attempt": str(attempt or c.get("attempt") or ""),
            "mlops.train_batches": ",".join(str(b) for b in c.get("train_batches") or []),
            "mlops.eval_batch": str(c.get("eval_batch", "")),
        }
        version = int(mlflow.register_model(c["candidate"], s.model_name, tags=tags).version)
    else:
        version = int(found.version)
    validation = gate(s, version, batch=c.get("eval_batch"))
    return {"stage": "register", "version": version, "candidate": c["candidate"], "validation": validation}


def rescore_waiting(s, version: int, *, after: int | None = None) -> dict[str, Any]:
    """Score the batches waiting for labels (after the evaluation batch) again with ``version``."""
    from ..ops.infer import infer

    after = labelled_batches(s)[-1] if after is None else int(after)
    waiting = [b for b in batch_ids(s, T.FEATURES) if b > after]
    if not waiting:
        return {"stage": "score", "version": int(version), "batches": [], "rows": 0}
    return {"stage": "score", **infer(s.ctx, batches=waiting, version=int(version), tables=s.tables).to_dict()}


def commit_candidate(s, candidate: Any) -> dict[str, Any]:
    """Commit ``monitoring.retrain_notebook`` and its provenance record (the registered candidate,
    its metrics against production's on the same window, the data window) with the skip-ci marker."""
    from ..ops.commit import commit_notebooks

    notebook = s.config.monitoring.retrain_notebook
    if not notebook:
        return {"stage": "commit", "commit": None, "detail": "skipped: monitoring.retrain_notebook is not set"}
    c = parse_candidate(candidate)
    version = candidate_version(s, candidate)
    mv = s.ctx.registry.get_version(s.model_name, version)
    trained_on = [int(b) for b in str(mv.tags.get("mlops.train_batches") or "").split(",") if b.strip()]
    eval_batch = int(c.get("eval_batch") or mv.tags.get("mlops.eval_batch") or labelled_batches(s)[-1])
    production: dict[str, float] = {}
    if s.tables.exists(T.METRICS):
        rows = s.tables.read(T.METRICS, where={"batch_id": eval_batch, "model_name": s.model_name})
        production = {r["metric"]: float(r["value"]) for r in rows.to_dict("records") if int(r["model_version"]) != version}
    start, _ = s.settings.window(min(trained_on) if trained_on else eval_batch)
    _, end = s.settings.window(eval_batch)
    metrics = c.get("metrics") or mv.metrics
    provenance = {
        "model": s.model_name,
        "version": version,
        "metrics": {k: {"candidate": v, "production": production.get(k)} for k, v in metrics.items()},
        "data_window": {"start": start.isoformat(), "end": end.isoformat()},
        "attempt": c.get("attempt") or mv.tags.get("mlops.retrain.attempt"),
        "run_id": mv.run_id,
        "train_batches": trained_on,
    }
    done = commit_notebooks(s.ctx, [notebook], provenance=provenance)
    return {"stage": "commit", "version": version, "commit": done.commit, "paths": done.paths, "notes": done.notes}
