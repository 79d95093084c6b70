"""Output: results on stdout (text or one JSON document), progress on stderr,
Azure Pipelines logging commands inside a pipeline, and secret masking everywhere.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any, Callable, Iterable

from .progress import Progress, mode_for

#: environment variables whose values are always secrets
SECRET_ENV_VARS = (
    "DATABRICKS_TOKEN",
    "DATABRICKS_CLIENT_SECRET",
    "SYSTEM_ACCESSTOKEN",
    "AZURE_DEVOPS_EXT_PAT",
    "ARM_CLIENT_SECRET",
    "AZURE_CLIENT_SECRET",
)

_extra_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask ``value`` in everything printed from now on."""
    if value and len(value) >= 4:
        _extra_secrets.add(value)


def _secrets() -> list[str]:
    """The values to mask now: those registered and those of the secret environment variables."""
    found = set(_extra_secrets)
    for name in SECRET_ENV_VARS:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            found.add(value)
    # longest first so a secret containing another is masked whole
    return sorted(found, key=len, reverse=True)


def mask(text: str) -> str:
    """``text`` with every known secret replaced by ``***``."""
    for secret in _secrets():
        if secret in text:
            text = text.replace(secret, "***")
    return text


def mask_obj(obj: Any) -> Any:
    """A JSON-like value with every string in it masked."""
    if isinstance(obj, str):
        return mask(obj)
    if isinstance(obj, dict):
        return {k: mask_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [mask_obj(v) for v in obj]
    return obj


def in_pipeline() -> bool:
    """Whether this process runs inside Azure Pipelines (``TF_BUILD=True``)."""
    return os.environ.get("TF_BUILD", "").lower() == "true"


def vso_escape_property(value: str) -> str:
    """A logging-command property escaped as azure-pipelines-task-lib escapes it."""
    return (
        value.replace("%", "%AZP25")
        .replace("\r", "%0D")
        .replace("\n", "%0A")
        .replace("]", "%5D")
        .replace(";", "%3B")
    )


def vso_escape_data(value: str) -> str:
    """The message of a logging command escaped (line breaks and ``%``)."""
    return value.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def vso_command(area_action: str, data: str = "", **props: Any) -> str:
    """A ``##vso[area.action prop=value;…]data`` line, its data masked; empty properties left out."""
    parts = [f"{k}={vso_escape_property(str(v))}" for k, v in props.items() if v is not None and v != ""]
    head = f"##vso[{area_action}"
    if parts:
        head += " " + ";".join(parts)
    return f"{head}]{vso_escape_data(mask(data))}"


class _MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:  # pragma: no cover - trivial
        record.msg = mask(record.getMessage())
        record.args = None
        return True


def setup_logging(verbose: bool) -> None:
    """Log to stderr through the mask; libraries quiet unless ``verbose``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_MaskingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.getLogger("devops_mlops").setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("urllib3", "git", "mlflow", "azure", "msrest", "databricks", "alembic", "traitlets"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    # urllib3 warns about every retried dropped connection; the outcome is reported once, by us
    logging.getLogger("urllib3").setLevel(logging.DEBUG if verbose else logging.ERROR)
    # mlflow configures its own loggers when imported, from this variable (default INFO)
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "DEBUG" if verbose else "WARNING")
    # library warnings (pandas, mlflow, matplotlib) are for developers: shown with -v only
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.WARNING if verbose else logging.ERROR)


class Console:
    """What a command says. Text goes to stdout in text mode; in JSON mode
    stdout carries exactly one document written by :meth:`result`."""

    def __init__(self, fmt: str = "text", verbose: bool = False) -> None:
        self.fmt = fmt
        self.verbose = verbose
        self._result_written = False

    @property
    def json(self) -> bool:
        return self.fmt == "json"

    def info(self, message: str) -> None:
        """Progress: stderr in JSON mode, stdout otherwise."""
        stream = sys.stderr if self.json else sys.stdout
        print(mask(message), file=stream, flush=True)

    def progress(self, message: str) -> None:
        print(mask(message), file=sys.stderr, flush=True)

    def tracker(self, total: int, label: str) -> Progress:
        """A :class:`devops_mlops.progress.Progress` for ``total`` steps: a bar on a terminal, periodic
        lines inside a pipeline, nothing with ``--format json``; secrets masked."""
        return Progress(total, label, mode_for(self.json, in_pipeline()), mask=mask)

    def warn(self, message: str, **where: Any) -> None:
        print(mask(f"warning: {message}"), file=sys.stderr, flush=True)
        self.logissue("warning", message, **where)

    def logissue(
        self,
        kind: str,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        code: str | None = None,
    ) -> None:
        if not in_pipeline():
            return
        print(
            vso_command(
                "task.logissue",
                message,
                type=kind,
                sourcepath=path,
                linenumber=line,
                columnnumber=column,
                code=code,
            ),
            flush=True,
        )

    def vso(self, area_action: str, data: str = "", **props: Any) -> None:
        if in_pipeline():
            print(vso_command(area_action, data, **props), flush=True)

    def result(self, doc: Any, render: Callable[[], Iterable[str]] | None = None) -> None:
        """Print the command's result: the JSON document, or the text lines."""
        if self._result_written and self.json:
            raise RuntimeError("a command printed two JSON documents")
        self._result_written = True
        if self.json:
            sys.stdout.write(mask(json.dumps(mask_obj(doc), indent=2, default=str, sort_keys=False)) + "\n")
            sys.stdout.flush()
        elif render is not None:
            for line in render():
                print(mask(line))
            sys.stdout.flush()


def table(rows: list[list[Any]], header: list[str]) -> list[str]:
    """A plain aligned text table."""
    cells = [[str(h) for h in header]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    out = []
    for n, r in enumerate(cells):
        out.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return out
