"""What running a notebook gives: a :class:`NotebookResult`, with a :class:`TestResult` for each
``test_*`` function the notebook defined."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

@dataclass
class TestResult:
    """One ``test_*`` function a notebook defined, called after the notebook's cells."""

    __test__ = False  # not a pytest class

    name: str
    status: str  # passed | failed
    path: str | None = None
    cell: int | None = None
    line: int | None = None
    error: str | None = None
    traceback: str | None = None
    duration: float = 0.0


@dataclass
class NotebookResult:
    """One notebook's run: its status, where it failed, what it printed."""

    path: str
    status: str  # passed | failed | timeout | error
    exit_value: str | None = None
    #: one line: "ZeroDivisionError: division by zero", "%run target not found: ./x", ...
    error: str | None = None
    #: where it failed: cell number (1-based, in ``error_path``) and line in that file
    cell: int | None = None
    line: int | None = None
    #: the file holding the failing line (the notebook itself, or a %run target)
    error_path: str | None = None
    #: the user-code traceback (runner frames removed, original file lines)
    traceback: str | None = None
    skipped_cells: list[dict] = field(default_factory=list)
    duration: float = 0.0
    #: dbutils.jobs.taskValues set by this run
    task_values: dict[str, Any] = field(default_factory=dict)
    tests: list[TestResult] = field(default_factory=list)
    #: what the notebook printed (truncated)
    output: str = ""
    kernel_pid: int | None = None

    @property
    def passed(self) -> bool:
        """Whether the notebook passed."""
        return self.status == "passed"

    @property
    def failed_in_tests(self) -> bool:
        """Cells ran fine, but a test_* function failed."""
        return self.status == "failed" and self.cell is None and any(t.status != "passed" for t in self.tests)

    def to_json(self) -> dict:
        """The result as a JSON-ready dict (tests included)."""
        return asdict(self)
