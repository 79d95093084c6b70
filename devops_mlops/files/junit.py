"""A JUnit report on disk (the file Azure Pipelines' PublishTestResults reads); the XML itself is
built by :mod:`devops_mlops.core.junit`."""

from __future__ import annotations

import os
from pathlib import Path

from ..console import mask
from ..core.junit import Suite, to_xml


def write_junit(path: str | Path, suites: list[Suite], name: str = "mlops") -> Path:
    """Write the report atomically (a temporary file renamed into place), masked like the console
    (test output can echo a token); returns the path."""
    target = Path(path)
    if target.parent and not target.parent.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(mask(to_xml(suites, name)), encoding="utf-8")
    tmp.replace(target)
    return target
