"""Findings of the pipeline checks, and where a value of a YAML file came from (:class:`Loc`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...yamlload import Lines, line_of

#: finding codes (docs/pipelines.md lists them)
CODES = {
    "PL000": "unreadable YAML",
    "PL100": "does not match the Azure Pipelines schema",
    "PL101": "secret variable expanded inside a script body",
    "PL102": "secret value written in the YAML",
    "PL103": "JUnit results not published",
    "PL104": "schedule-only pipeline runs on other triggers or is skipped",
    "PL105": "push back to the repository without a loop guard",
    "PL106": "mlops command line does not parse",
    "PL107": "mlops command does not exist",
    "PL108": "template not found",
    "PL109": "template parameters do not match",
    "PL110": "rejected by the Azure DevOps pipeline preview API (--remote)",
    "PL111": "task looks like a misspelled or newer built-in task (warning)",
    "PL112": "task input the task does not have, or a value outside its choices (warning)",
    "PL113": "required task input missing",
}


@dataclass(frozen=True)
class Finding:
    """One problem found in a pipeline file, at a line (and column) when known."""

    path: str
    line: int | None
    code: str
    message: str
    column: int | None = None
    severity: str = "error"

    def as_dict(self) -> dict:
        """The finding as the JSON output shows it."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        }


@dataclass(frozen=True)
class Loc:
    """Where a value came from: a file, its line map, a key path in it."""

    file: str
    lines: Lines = field(compare=False, hash=False, repr=False)
    path: tuple = ()

    def child(self, *keys: Any) -> Loc:
        """The location of a value nested under this one."""
        return Loc(self.file, self.lines, self.path + keys)

    @property
    def line(self) -> int | None:
        """The file line of this key path, None when the line map does not have it."""
        return line_of(self.lines, self.path)

    def finding(self, code: str, message: str, offset: int = 0) -> Finding:
        """A finding at this location (``offset`` lines further down)."""
        line = self.line
        return Finding(self.file, line + offset if line is not None else None, code, message)

