"""The registered model's use cases: status, validate, promote, rollback.

The public Python API (the lifecycle calls these directly)::

    from devops_mlops.ops.model import validate, promote, rollback, status
    result = validate(ctx, version, eval_frame)          # ValidationResult (.passed, .gate)
    promote(ctx, version, "production", validation=result)  # PromotionResult; CheckFailed on a failed gate
"""

from __future__ import annotations

from .model_promote import PromotionResult, promote, promotions_log, rollback
from .promotion_log import PROMOTIONS_TABLE
from .model_status import StatusResult, status
from .model_validate import ValidationResult, evaluate, load_evaluation_frame, validate

__all__ = [
    "PROMOTIONS_TABLE",
    "PromotionResult",
    "StatusResult",
    "ValidationResult",
    "evaluate",
    "load_evaluation_frame",
    "promote",
    "promotions_log",
    "rollback",
    "status",
    "validate",
]
