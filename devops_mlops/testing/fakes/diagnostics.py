"""A diagnostics port (devops_mlops/ports/diagnostics.py) that answers what a test sets: the
checks a target's services would give, and why later checks cannot run (``unusable``).
``probes`` counts the calls (the doctor probes once)."""

from __future__ import annotations

from ...ports.diagnostics import Check, Probe


class FakeDiagnostics:
    def __init__(self, checks: list[Check] | None = None, *, unusable: str | None = None) -> None:
        self.checks = list(checks or [])
        self.unusable = unusable
        self.probes = 0

    def probe(self) -> Probe:
        self.probes += 1
        return Probe(list(self.checks), self.unusable)
