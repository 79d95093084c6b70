"""Diagnostics port: the checks `mlops doctor` runs against a target's own services (is the host
there, whose credentials, may they write the folders, volumes and schemas a release needs).

Adapters: adapters/databricks/diagnostics.py (the workspace, probed through the SDK) and
adapters/local/diagnostics.py (the embedded default: no service of its own to probe).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass
class Check:
    """One line of the doctor's answer: what was checked, its status, what was found, the fix."""

    name: str
    status: str
    detail: str
    fix: str | None = None


@dataclass
class Probe:
    """The target's checks, in order, and (``unusable``) why no later check can use its services,
    when the host or the credentials failed; None when they answer."""

    checks: list[Check] = field(default_factory=list)
    unusable: str | None = None


class Diagnostics(Protocol):
    def probe(self) -> Probe:
        """Run the target's checks. Probes write nothing that outlives them."""
