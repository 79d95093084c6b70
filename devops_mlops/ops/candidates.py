"""A retrain candidate, from the retrain notebook's exit value to production.

The Data Factory retrain pipeline (docs/adf.md) hands the retrain notebook's exit
value on as ``candidate`` to the re-check, register, promote, commit and score
notebooks; each calls one function here (through the notebook API,
:mod:`devops_mlops.runtime.candidates`) with the notebook's session::

    c = parse_candidate(text)                 # {"candidate": "runs:/.../model", "run_id": ..., "eval_batch": ...}
    register_candidate(s, text, attempt=2)    # a new version (once) through the gate
    s.promote(candidate_version(s, text), batch=c.get("eval_batch"))
    commit_candidate(s, text)                 # the retrain notebook + its provenance record, [skip ci]
    rescore_waiting(s, version, after=c.get("eval_batch"))

The retrain loop of `mlops monitor` uses :func:`parse_candidate` and :func:`data_window` too.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..ports.registry import ModelVersion
from .commit import commit_notebooks
from .infer import infer
from .tables import METRICS, table_batches

if TYPE_CHECKING:
    from ..context import Context
    from .session import Session


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


def find_candidate(s: Session, candidate: Any) -> ModelVersion | None:
    """The registered version of ``candidate``, None when it is not registered yet."""
    c = parse_candidate(candidate)
    registry = s.ctx.registry
    if c.get("version") is not None:
        return registry.get_version(s.model_name, int(c["version"]))
    for v in reversed(registry.get_model(s.model_name, with_metrics=False)):
        if v.tags.get("mlops.candidate") == c["candidate"] or (c.get("run_id") and v.run_id == c["run_id"]):
            return v
    return None


def candidate_version(s: Session, candidate: Any) -> int:
    """The version number ``candidate`` was registered as; InputError when it is not registered."""
    found = find_candidate(s, candidate)
    if found is None:
        raise InputError(f"candidate {parse_candidate(candidate)['candidate']} is not registered (run the register step first)")
    return int(found.version)


def register_candidate(s: Session, candidate: Any, *, attempt: Any = None) -> dict[str, Any]:
    """Register the candidate as a new version (once: a re-run finds it) and pass it through the gate
    (CheckFailed when it fails) on the window it was evaluated on."""
    c = parse_candidate(candidate)
    found = find_candidate(s, candidate)
    if found is None:
        version = s.register(c["candidate"], tags={
            "mlops.candidate": c["candidate"],
            "mlops.retrain.attempt": str(attempt or c.get("attempt") or ""),
            "mlops.train_batches": ",".join(str(b) for b in c.get("train_batches") or []),
            "mlops.eval_batch": str(c.get("eval_batch", "")),
        })
    else:
        version = int(found.version)
    validation = s.gate(version, batch=c.get("eval_batch"))
    return {"stage": "register", "version": version, "candidate": c["candidate"], "validation": validation}


def rescore_waiting(s: Session, version: int, *, after: int | None = None) -> dict[str, Any]:
    """Score the batches waiting for labels (after the evaluation batch) again with ``version``."""
    after = s.labelled_batches()[-1] if after is None else int(after)
    waiting = [b for b in table_batches(s.tables, s.features_table) if b > after]
    if not waiting:
        return {"stage": "score", "version": int(version), "batches": [], "rows": 0}
    return {"stage": "score", **infer(s.ctx, batches=waiting, version=int(version), tables=s.tables).to_dict()}


def data_window(ctx: Context, run_id: str | None, end: str | None = None) -> dict[str, str | None]:
    """The data a run was trained on, from its ``mlops.train_window`` tag (``start..end``); ``end``
    (the evaluation window's last day) replaces the tag's end when given."""
    start = stop = None
    if run_id:
        tag = ctx.registry.run_tags(run_id).get("mlops.train_window") or ""
        start, _, stop = tag.partition("..")
    return {"start": start or None, "end": end or stop or None}


def _metric_rows(s: Session, eval_batch: int) -> list[dict[str, Any]]:
    if not s.tables.exists(METRICS):
        return []
    return s.tables.read(METRICS, where={"batch_id": int(eval_batch), "model_name": s.model_name}).to_dict("records")


def production_metrics(s: Session, eval_batch: int, *, exclude_version: int | None = None) -> dict[str, float]:
    """The production model's monitoring metrics on ``eval_batch`` (from the ``metrics`` table)."""
    return {r["metric"]: float(r["value"]) for r in _metric_rows(s, eval_batch)
            if exclude_version is None or int(r["model_version"]) != exclude_version}


def commit_candidate(s: Session, candidate: Any) -> dict[str, Any]:
    """Commit ``monitoring.retrain_notebook`` and its provenance record (the registered candidate,
    its metrics against production's on the same window, the data window) with the skip-ci marker."""
    notebook = s.config.monitoring.retrain_notebook
    if not notebook:
        return {"stage": "commit", "commit": None, "detail": "skipped: monitoring.retrain_notebook is not set"}
    c = parse_candidate(candidate)
    version = candidate_version(s, candidate)
    mv = s.ctx.registry.get_version(s.model_name, version)
    trained_on = [int(b) for b in str(mv.tags.get("mlops.train_batches") or "").split(",") if b.strip()]
    eval_batch = int(c.get("eval_batch") or mv.tags.get("mlops.eval_batch") or s.labelled_batches()[-1])
    production = production_metrics(s, eval_batch, exclude_version=version)
    metrics = c.get("metrics") or mv.metrics
    provenance = {
        "model": s.model_name,
        "version": version,
        "metrics": {k: {"candidate": v, "production": production.get(k)} for k, v in metrics.items()},
        "data_window": data_window(s.ctx, mv.run_id, end=next((str(r["window_end"]) for r in _metric_rows(s, eval_batch)), None)),
        "attempt": c.get("attempt") or mv.tags.get("mlops.retrain.attempt"),
        "run_id": mv.run_id,
        "train_batches": trained_on,
    }
    done = commit_notebooks(s.ctx, [notebook], provenance=provenance, automation=True)
    return {"stage": "commit", "version": version, "commit": done.commit, "paths": done.paths, "notes": done.notes,
            "branch": done.branch if done.pushed else done.committed_on, "pushed": done.pushed,
            "summary": done.summary()}
