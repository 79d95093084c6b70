"""`mlops doctor`: is a target ready for a team's first release? One line per check, with the fix.

Checks, in order (a check that cannot run because an earlier one failed is skipped):

1. ``versions``: the installed databricks-sdk and mlflow are within the tested range;
2. the target's own services, through the diagnostics port (``ctx.diagnostics``; on Databricks:
   ``host``, ``identity``, ``workspace``, ``artifacts``, ``catalog`` / ``schema`` — see
   adapters/databricks/diagnostics.py; nothing on the embedded default);
3. ``registry``: the MLflow registry answers, and whether the model is registered yet.

It writes nothing that outlives it. Exit 0 when every check holds, 1 when one fails.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import MlopsError
from ..ports.diagnostics import FAILED, OK, SKIPPED, Check


@dataclass
class DoctorResult:
    target: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.status != FAILED for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "ok": self.ok, "checks": [asdict(c) for c in self.checks]}

    def lines(self) -> list[str]:
        width = max((len(c.name) for c in self.checks), default=0)
        out = []
        for c in self.checks:
            text = f"{c.status:<7} {c.name:<{width}}  {c.detail}"
            if c.fix and c.status == FAILED:
                text += f"; fix: {c.fix}"
            out.append(text)
        out.append(f"target {self.target}: " + ("ready" if self.ok else "not ready"))
        return out


def doctor(ctx: Any) -> DoctorResult:
    result = DoctorResult(ctx.target.name)
    result.checks.append(_versions())
    probe = ctx.diagnostics.probe()
    result.checks.extend(probe.checks)
    if probe.unusable is not None:
        result.checks.append(Check("registry", SKIPPED, probe.unusable))
        return result
    result.checks.append(_registry(ctx))
    return result


# ------------------------------------------------------------------ the checks
def _versions() -> Check:
    from ..deps import minimums, untested

    problems = [t for t in (untested("databricks-sdk"), untested("mlflow")) if t]
    if problems:
        return Check("versions", FAILED, "; ".join(problems), "pip install -U databricks-sdk mlflow")
    from importlib.metadata import version

    low = minimums()
    return Check("versions", OK, ", ".join(f"{n} {version(n)} (tested from {low.get(n, '?')})"
                                           for n in ("databricks-sdk", "mlflow")))


def _registry(ctx: Any) -> Check:
    name = ctx.config.model.name
    try:
        registry = ctx.registry
        versions = registry.get_model(name, with_metrics=False)
    except MlopsError as exc:
        if _model_unknown(exc.message):
            return Check("registry", OK, f"{ctx.registry.registry_uri} answers; model {name} is not "
                                         "registered yet (the first training run registers it)")
        return Check("registry", FAILED, exc.message, exc.hint)
    return Check("registry", OK, f"{registry.registry_uri} answers; model {name} has {len(versions)} version(s)")


def _model_unknown(message: str) -> bool:
    """The registry answered that the model is not there (not: the registry is not there)."""
    if "ENDPOINT_NOT_FOUND" in message:
        return False
    return "RESOURCE_DOES_NOT_EXIST" in message or ("Registered Model with name=" in message and "not found" in message)
