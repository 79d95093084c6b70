"""The diagnostics port of the embedded default: its registry and tables live in this project's
folder, so there is no host, identity or permission to probe (the doctor checks the registry
itself through the registry port)."""

from __future__ import annotations

from typing import Any

from ...ports.diagnostics import Probe


class LocalDiagnostics:
    def probe(self) -> Probe:
        """No checks: nothing outside this machine to reach."""
        return Probe([])


def from_context(ctx: Any) -> LocalDiagnostics:
    return LocalDiagnostics()
