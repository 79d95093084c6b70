"""The one error hierarchy of devops-mlops.

Every expected failure is an :class:`MlopsError` carrying its exit code; the
top-level handler in :mod:`devops_mlops.cli` prints it as one line and exits.
Anything else that escapes is a bug (exit 3).
"""

from __future__ import annotations

from pathlib import Path


class MlopsError(Exception):
    """An expected failure. ``exit_code`` 1: a check found problems."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        hint: str | None = None,
        reported: bool = False,
    ) -> None:
        super().__init__(message)
        #: True when the command already printed the details (no extra error line)
        self.reported = reported
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.hint = hint

    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line else self.path

    def one_line(self) -> str:
        loc = self.location()
        text = f"{loc}: {self.message}" if loc else self.message
        if self.hint:
            text += f" ({self.hint})"
        return " ".join(text.split("\n"))


class CheckFailed(MlopsError):
    """A check ran and found problems: lint findings, a failed test or gate."""

    exit_code = 1


class UsageError(MlopsError):
    """Bad command-line usage."""

    exit_code = 2


class ConfigError(MlopsError):
    """mlops.yaml (or a job definition) is invalid."""

    exit_code = 2


class InputError(MlopsError):
    """An input file is unreadable or malformed."""

    exit_code = 2


class ServiceError(MlopsError):
    """An outside system refused or could not be reached (auth, not found, down)."""

    exit_code = 2


class ConflictError(MlopsError):
    """Someone else changed the state we were about to change (lost a race)."""

    exit_code = 1
