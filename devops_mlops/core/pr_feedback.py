"""What ``mlops lint|test|deploy --dry-run`` say on an Azure Repos pull request: plain logic, no I/O.

Threads we own carry the property ``mlops.feedback`` (and, for a reader of the raw comment, a
hidden ``<!-- mlops:... -->`` marker in the first comment): ``<command>:summary`` for the one
summary thread of a command, ``lint:finding:<key>`` for a finding anchored on a changed line. The
key is a hash of the file, the code, the message and the text of the line, so a finding that
only moves keeps its thread. :func:`reconcile` turns what the pull request has and what this run
wants into creates, updates and closes; nothing here talks to the service.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from typing import Any

PROPERTY = "mlops.feedback"
MAX_COMMENT = 60_000  # the service takes 150,000 characters; a summary longer than this is clipped
#: statuses a reviewer sets by hand: a finding thread in one of them is never reopened
_REVIEWER_CLOSED = ("wontFix", "byDesign", "closed")


def marker(key: str) -> str:
    return f"<!-- mlops:{key} -->"


def clip(text: str, limit: int = MAX_COMMENT) -> str:
    return text if len(text) <= limit else text[: limit - 40].rstrip() + "\n\n…(clipped)"


# ------------------------------------------------------------------ changed lines and notebooks
def changed_lines(old: str | None, new: str) -> set[int]:
    """1-based lines of ``new`` that are added or changed against ``old`` (None: a new file, every line)."""
    new_lines = new.splitlines()
    if old is None:
        return set(range(1, len(new_lines) + 1))
    out: set[int] = set()
    for tag, _i1, _i2, j1, j2 in difflib.SequenceMatcher(None, old.splitlines(), new_lines, autojunk=False).get_opcodes():
        if tag in ("replace", "insert"):
            out.update(range(j1 + 1, j2 + 1))
    return out


def cell_diff(old_cells: list[str] | None, new_cells: list[str], path: str) -> list[str]:
    """Markdown lines: which cells of a notebook were added, removed or changed (sources only, so an
    outputs-only change shows as no change), with a unified diff of each changed cell."""
    if old_cells is None:
        return [f"**{path}**: new notebook, {len(new_cells)} cell(s)"]
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, old_cells, new_cells, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "delete":
            out.append(f"- cell {i1 + 1}" + (f"–{i2}" if i2 - i1 > 1 else "") + " removed")
        elif tag == "insert":
            out.append(f"- cell {j1 + 1}" + (f"–{j2}" if j2 - j1 > 1 else "") + " added")
            out += _fenced(difflib.unified_diff([], "\n".join(new_cells[j1:j2]).splitlines(), lineterm="", n=0))
        else:
            for k in range(max(i2 - i1, j2 - j1)):
                old = old_cells[i1 + k] if i1 + k < i2 else None
                new = new_cells[j1 + k] if j1 + k < j2 else None
                if new is None:
                    out.append(f"- cell {i1 + k + 1} removed")
                    continue
                label = "changed" if old is not None else "added"
                out.append(f"- cell {j1 + k + 1} {label}")
                out += _fenced(difflib.unified_diff((old or "").splitlines(), new.splitlines(), lineterm="", n=1))
    if not out:
        return [f"**{path}**: no source change (outputs or metadata only)"]
    return [f"**{path}**"] + out


def _fenced(lines) -> list[str]:
    body = [line for line in lines if not line.startswith(("---", "+++"))]
    return ["  ```diff", *("  " + line for line in body[:80]), "  ```"] if body else []


# ------------------------------------------------------------------ threads
@dataclass
class Thread:
    """A pull-request thread as far as we care: id, status, our key, first comment."""

    id: int
    status: str | None
    key: str | None
    comment_id: int | None = None
    content: str = ""


@dataclass
class Wanted:
    key: str
    content: str
    status: str = "active"
    #: repository path ("/notebooks/x.py") and 1-based line, for a line-anchored thread
    path: str | None = None
    line: int | None = None
    #: the file the finding is in (closing is limited to the files this run looked at)
    scope: str | None = None


@dataclass
class Action:
    op: str  # create | update | close | reopen
    wanted: Wanted | None = None
    thread: Thread | None = None


@dataclass
class Reconciled:
    actions: list[Action] = field(default_factory=list)

    def of(self, op: str) -> list[Action]:
        return [a for a in self.actions if a.op == op]


def finding_key(repo_path: str, code: str, message: str, line_text: str) -> str:
    digest = hashlib.sha1("\x00".join((repo_path, code, message, line_text.strip())).encode()).hexdigest()[:16]
    return f"lint:finding:{digest}"


def key_of(properties: dict[str, Any] | None, content: str) -> str | None:
    """Our key from a thread's properties (either PropertiesCollection shape), else from the marker."""
    value = (properties or {}).get(PROPERTY)
    if isinstance(value, dict):
        value = value.get("$value", value.get("value"))
    if isinstance(value, str) and value:
        return value
    start = content.find("<!-- mlops:")
    if start >= 0:
        end = content.find(" -->", start)
        if end > start:
            return content[start + len("<!-- mlops:"):end]
    return None


def reconcile(existing: list[Thread], wanted: list[Wanted], *, command: str, scopes: set[str]) -> Reconciled:
    """``existing``: every thread of the pull request; ``wanted``: this run's summary and finding threads.
    Finding threads of ``command`` that this run no longer wants are closed when their file is in ``scopes``."""
    out = Reconciled()
    ours = {t.key: t for t in existing if t.key}
    want_keys = set()
    for w in wanted:
        want_keys.add(w.key)
        have = ours.get(w.key)
        if have is None:
            out.actions.append(Action("create", w))
        elif w.path is None:  # a summary: content and status follow the run
            if have.content != w.content or have.status != w.status:
                out.actions.append(Action("update", w, have))
        elif have.status not in ("active", "pending") and have.status not in _REVIEWER_CLOSED:
            out.actions.append(Action("reopen", w, have))
    prefix = f"{command}:finding:"
    for key, t in ours.items():
        if key.startswith(prefix) and key not in want_keys and t.status in ("active", "pending"):
            scope = _scope_in(t.content)
            if scope is None or scope in scopes:
                out.actions.append(Action("close", None, t))
    return out


def scope_line(path: str) -> str:
    """The hidden line naming a finding thread's file (read back by :func:`reconcile`)."""
    return f"<!-- mlops-file:{path} -->"


def _scope_in(content: str) -> str | None:
    start = content.find("<!-- mlops-file:")
    if start < 0:
        return None
    end = content.find(" -->", start)
    return content[start + len("<!-- mlops-file:"):end] if end > start else None
