"""Use case: validate a model version (the promotion gate).

The candidate and the current production model are scored on the same
evaluation data (``promotion.evaluation_data``: a table read through
``ctx.tables``, or a .csv/.parquet file; or a frame the caller passes), the
metrics computed with :mod:`devops_mlops.core.metrics`, and the gate decided by
:func:`devops_mlops.core.promotion.decide`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import metrics as metric_lib
from ..core.promotion import GateResult, decide, gate_metrics
from ..errors import InputError


@dataclass
class ValidationResult:
    model: str
    version: int
    production_version: int | None
    gate: GateResult
    candidate_metrics: dict[str, float]
    production_metrics: dict[str, float] | None
    #: what the metrics were computed on
    evaluation: str
    rows: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.gate.passed

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "production_version": self.production_version,
            "passed": self.passed,
            "evaluation": self.evaluation,
            "rows": self.rows,
            "candidate_metrics": self.candidate_metrics,
            "production_metrics": self.production_metrics,
            "gate": self.gate.to_dict(),
            "notes": self.notes,
        }


def model_name(ctx, model: str | None = None) -> str:
    return model or ctx.config.model.name


def load_evaluation_frame(ctx) -> tuple[Any, str] | None:
    """The configured evaluation data and a description of it; None when none is configured."""
    source = ctx.config.promotion.evaluation_data
    if not source:
        return None
    path = Path(source) if Path(source).is_absolute() else ctx.root / source
    if source.endswith((".csv", ".parquet")):
        import pandas as pd

        if source.startswith("/Volumes/") and not path.is_file() and ctx.target.backend == "databricks":
            return _volume_frame(ctx, source), f"file {source}"
        if not path.is_file():
            raise InputError(f"promotion.evaluation_data: no file {path}", path=ctx.config.path)
        frame = pd.read_csv(path) if source.endswith(".csv") else pd.read_parquet(path)
        return frame, f"file {source}"
    if not ctx.tables.exists(source):
        raise InputError(
            f"promotion.evaluation_data: table {source!r} does not exist at {ctx.tables.location(source)}",
            path=ctx.config.path,
            hint="run the data preparation step first",
        )
    return ctx.tables.read(source), f"table {source}"


def _volume_frame(ctx, source: str):
    """A .csv/.parquet in a Unity Catalog volume, read through the artifact store (the Files API):
    how a pipeline agent, which cannot read the target's Delta tables, gets the gate's evaluation data."""
    import io

    import pandas as pd

    data = ctx.artifacts.read(source)
    if data is None:
        raise InputError(f"promotion.evaluation_data: no file {source} in the volume", path=ctx.config.path,
                         line=ctx.config.line("promotion", "evaluation_data"))
    buffer = io.BytesIO(data)
    try:
        return pd.read_csv(buffer) if source.endswith(".csv") else pd.read_parquet(buffer)
    except Exception as exc:  # noqa: BLE001 - any unreadable content is bad input
        raise InputError(f"promotion.evaluation_data: {source} is not a readable "
                         f"{source.rsplit('.', 1)[-1]} file ({type(exc).__name__})", path=ctx.config.path) from None


def _features(model: Any, frame: Any, label: str, keys: list[str]):
    schema = None
    try:
        schema = model.metadata.get_input_schema()
    except Exception:  # noqa: BLE001 - a model without metadata: fall back to dropping columns
        schema = None
    if schema is not None and schema.has_input_names():
        names = schema.input_names()
        missing = [n for n in names if n not in frame.columns]
        if missing:
            raise InputError(f"the evaluation data lacks the model's input columns: {', '.join(missing)}")
        return frame[names]
    return frame.drop(columns=[c for c in [label, *keys] if c in frame.columns])


def _scores(model: Any, X: Any):
    """Positive-class probabilities when the underlying model offers them (for roc_auc)."""
    try:
        raw = model.get_raw_model()
    except Exception:  # noqa: BLE001 - not every pyfunc flavour has a raw model
        return None
    if hasattr(raw, "predict_proba"):
        proba = raw.predict_proba(X)
        if proba.ndim == 2 and proba.shape[1] == 2:
            return proba[:, 1]
    return None


def evaluate(model: Any, frame: Any, *, label: str, keys: list[str], names: list[str]) -> dict[str, float]:
    """Metrics ``names`` of a pyfunc ``model`` on ``frame`` (which holds the ``label`` column)."""
    if label not in frame.columns:
        raise InputError(f"the evaluation data has no label column {label!r} (model.label)")
    if len(frame) == 0:
        raise InputError("the evaluation data is empty")
    from ..kernel.threads import threads_for

    X = _features(model, frame, label, keys)
    y = frame[label].to_numpy()
    with threads_for(len(X)):
        pred = model.predict(X)
    if hasattr(pred, "to_numpy"):
        pred = pred.to_numpy()
    out: dict[str, float] = {}
    scores = None
    for name in names:
        if not metric_lib.known(name):
            raise InputError(f"cannot compute metric {name!r} (known: {', '.join(metric_lib.METRICS)})")
        if name == "roc_auc":
            if scores is None:
                with threads_for(len(X)):
                    scores = _scores(model, X)
            out[name] = metric_lib.compute(name, y, scores if scores is not None else pred)
        else:
            out[name] = metric_lib.compute(name, y, pred)
    return out


def validate(ctx, version: int, eval_frame: Any = None, *, model: str | None = None) -> ValidationResult:
    """Evaluate ``version`` and the current production model on the same data and decide the gate.

    ``eval_frame``: a pandas DataFrame with the features and the ``model.label`` column; default:
    ``promotion.evaluation_data``; without either, the metrics logged with each version's run.
    """
    cfg = ctx.config
    name = model_name(ctx, model)
    registry = ctx.registry
    candidate = registry.get_version(name, int(version))  # exit 2 when unknown
    production = registry.holder(name, "production")
    names = gate_metrics(cfg.promotion.thresholds, cfg.promotion.min_improvement, cfg.model.primary_metric)
    notes: list[str] = []
    rows = None
    if eval_frame is None:
        loaded = load_evaluation_frame(ctx)
        if loaded is not None:
            eval_frame, description = loaded
    else:
        description = "the given frame"
    if eval_frame is not None:
        rows = len(eval_frame)
        kwargs = {"label": cfg.model.label, "keys": list(cfg.model.keys), "names": names}
        ctx.console.progress(f"evaluating {name} v{candidate.version} on {description} ({rows} rows)")
        cand_metrics = evaluate(registry.load_model(name, candidate.version), eval_frame, **kwargs)
        prod_metrics = None
        if production is not None:
            if production.version == candidate.version:
                prod_metrics = dict(cand_metrics)
            else:
                ctx.console.progress(f"evaluating production {name} v{production.version} on the same data")
                prod_metrics = evaluate(registry.load_model(name, production.version), eval_frame, **kwargs)
    else:
        description = "metrics logged with each version's run"
        notes.append("no promotion.evaluation_data: compared the metrics logged at training time")
        cand_metrics = {k: v for k, v in candidate.metrics.items() if k in names}
        prod_metrics = None
        if production is not None:
            logged = registry.get_version(name, production.version).metrics
            prod_metrics = {k: v for k, v in logged.items() if k in names}
    gate = decide(
        cand_metrics,
        prod_metrics,
        thresholds=cfg.promotion.thresholds,
        min_improvement=cfg.promotion.min_improvement,
        primary=cfg.model.primary_metric,
        primary_higher_is_better=cfg.model.higher_is_better,
    )
    return ValidationResult(
        model=name,
        version=candidate.version,
        production_version=production.version if production else None,
        gate=gate,
        candidate_metrics=cand_metrics,
        production_metrics=prod_metrics,
        evaluation=description,
        rows=rows,
        notes=notes,
    )
