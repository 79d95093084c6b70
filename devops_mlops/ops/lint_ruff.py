"""The one ruff process of `mlops lint`: its command line, its inputs, its diagnostics.

API::

    run = RuffRun(select, ignore, root)
    run.direct_ok                     # may notebooks be handed to ruff as they are?
    write_modules(run.scratch(), {"nb00001.py": text, ...})   # from either process of the run
    run.start(paths, ["nb00001.py", ...])   # returns at once; ruff works meanwhile
    diagnostics = run.wait()          # [{filename, code, message, location, ...}], filename as given

Notebooks reach ruff in one of two ways:

* **as they are** (``direct``): a Databricks source ``.py`` notebook is a Python file whose
  other cells, titles and separators are comments, so ruff reads it in place with the
  line and column of every finding already right. That saves building and writing a
  module per notebook, and ruff starts before those notebooks are even parsed. Only
  for a notebook with no ``%python`` magic cell and no IPython escape, and only while the
  selected rules cannot tell a comment line or a blank-line layout from another
  (pyflakes, the E4/E7/E9 default and other rules that read the syntax tree:
  :data:`LAYOUT_FREE`); a project configuration with per-file settings keeps every
  notebook on the other way, so that all of them are linted alike;
* **as a virtual module** in a scratch folder (memory-backed when there is one): the
  Python cells of an .ipynb, of a notebook with escapes or ``%python`` cells, or of any
  notebook when the rules need it, joined with their lines mapped back.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from ..core.lint import DATABRICKS_GLOBALS
from ..errors import InputError, MlopsError

OUR_PREFIXES = ("MLO", "SEC")
RUFF_DEFAULT = ["E4", "E7", "E9", "F"]
#: rule prefixes whose findings depend only on the syntax tree or on the line they are on
#: (a comment line of another cell is dropped by line, see ops.lint), never on comments
#: or blank lines between cells or on the file's name
LAYOUT_FREE = (
    "F", "E4", "E7", "E9", "E2", "E5", "W2", "W6", "B", "C4", "C90", "UP", "SIM", "PIE", "PERF", "PD", "NPY",
    "RET", "T10", "T20", "S", "ARG", "PL", "TRY", "EM", "G", "LOG", "BLE", "DTZ", "FURB", "PT", "Q", "ICN",
    "PGH", "FLY", "SLF", "TID", "TC", "YTT", "ASYNC", "AIR", "RSE", "SLOT", "FBT", "RUF",
)
#: settings of a project configuration that make a file's findings depend on its path
#: characters a per-file-ignores pattern would read as a glob
_GLOB_CHARS = re.compile(r"[*?\[\]{}!\\]")
_PER_FILE = ("per-file-ignores", "extend-per-file-ignores", "force-exclude", "extend =", "extend=")


def scratch_parent() -> str | None:
    """A memory-backed folder for the virtual modules when there is one (creating a thousand
    small files on a disk-backed /tmp costs more than linting them)."""
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return None


def ruff_bin() -> str:
    """The ruff binary: in a virtual environment its scripts folder (``<prefix>/bin``), the first
    place ``ruff.find_ruff_bin`` looks, without importing sysconfig; else as ruff finds itself."""
    if os.name == "posix" and sys.prefix != sys.base_prefix:
        path = os.path.join(sys.prefix, "bin", "ruff")
        if os.path.isfile(path):
            return path
    from ruff import find_ruff_bin

    return find_ruff_bin()


def ruff_config(root: Path | None) -> Path | None:
    if root is None:
        return None
    for name in ("ruff.toml", ".ruff.toml"):
        if (root / name).is_file():
            return root / name
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and "[tool.ruff" in pyproject.read_text(encoding="utf-8", errors="replace"):
        return pyproject
    return None


def ruff_codes(codes: list[str]) -> list[str]:
    return [c for c in codes if not c.startswith(OUR_PREFIXES) and c != "E999"]


def _read_config(config: Path) -> tuple[list[str] | None, bool]:
    """(the rules a project configuration selects (select + extend-select), whether its
    findings may depend on a file's path); the rules are None when they cannot be told
    without ruff, and an ``extend``ed or unreadable file counts as path-dependent."""
    import tomllib

    try:
        text = config.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, ValueError):
        return None, True
    if config.name == "pyproject.toml":
        data = data.get("tool", {}).get("ruff", {})
    path_dependent = any(key in text for key in _PER_FILE)
    lint = data.get("lint", {}) if isinstance(data.get("lint"), dict) else {}
    select = lint.get("select", data.get("select"))
    extend = lint.get("extend-select", data.get("extend-select", []))
    if not isinstance(select, (list, type(None))) or not isinstance(extend, list):
        return None, path_dependent
    return list(select if select is not None else RUFF_DEFAULT) + list(extend), path_dependent


class RuffRun:
    def __init__(self, select: list[str], ignore: list[str], root: Path | None) -> None:
        self.config = ruff_config(root)
        self.select = ruff_codes(select)
        self.ignore = ruff_codes(ignore)
        configured, path_dependent = _read_config(self.config) if self.config else (RUFF_DEFAULT, False)
        chosen = self.select or configured
        self.direct_ok = not path_dependent and chosen is not None and all(c.startswith(LAYOUT_FREE) for c in chosen)
        # E402 of a notebook is dropped (imports in later cells are how notebooks are written): ruff
        # need not report it, unless RUF100 could then call a noqa comment for E402 unused
        self.quiet_e402 = chosen is not None and not any("RUF100".startswith(c) or c == "ALL" for c in chosen)
        self.notebooks: set[str] = set()  # the inputs that are notebooks (paths, module names)
        self._proc: subprocess.Popen | None = None
        self._scratch: str | None = None
        self._given: tuple[list[str], list[str]] = ([], [])

    def command(self, inputs: list[str]) -> list[str]:
        # concise: a line per finding (the JSON form is six times longer, and ruff writing it and this
        # process reading it cost more than linting when a run has thousands of findings)
        cmd = [ruff_bin(), "check", "--output-format", "concise", "--quiet", "--no-cache", "--exit-zero", "--no-fix"]
        cmd += ["--config", str(self.config)] if self.config else ["--isolated"]
        builtins = ", ".join(f'"{n}"' for n in DATABRICKS_GLOBALS)
        cmd += ["--config", f"builtins = [{builtins}]"]
        if self.select or not self.config:
            cmd += ["--select", ",".join(self.select or RUFF_DEFAULT)]
        if self.ignore:
            cmd += ["--ignore", ",".join(self.ignore)]
        quiet = self._quiet_patterns()
        if quiet:
            cmd += ["--config", f"lint.extend-per-file-ignores = {{{', '.join(quiet)}}}"]
        return cmd + inputs

    def _quiet_patterns(self) -> list[str]:
        """TOML ``"<glob>" = ["E402"]`` entries covering the notebook inputs and no other input: one
        per folder of them (ruff matches each file against every pattern, so a pattern per file
        would cost more than it saves), a file's own path where a plain file is in or below its
        folder, and a path with a glob character is left out (its E402 is reported and dropped)."""
        if not self.quiet_e402 or not self.notebooks:
            return []
        paths, modules = self._given
        inputs = [(p, p in self.notebooks) for p in paths]
        inputs += [(os.path.join(self._scratch or "", m), m in self.notebooks) for m in modules]
        plain = [p for p, notebook in inputs if not notebook]
        folders: dict[str, list[str]] = {}
        for p, notebook in inputs:
            if notebook:
                folders.setdefault(os.path.dirname(p), []).append(p)
        globs = []
        for folder, members in sorted(folders.items()):
            inside = folder + os.sep
            if _GLOB_CHARS.search(folder) or any(p.startswith(inside) for p in plain):
                globs += sorted(p for p in members if not _GLOB_CHARS.search(p))
            else:
                globs.append(inside + "*.py")
        return [json.dumps(g, ensure_ascii=False) + ' = ["E402"]' for g in globs if g.isprintable()]

    def scratch(self) -> str:
        """The folder of this run's virtual modules (made on first use): :func:`write_modules`
        fills it, from this process or from the second one."""
        if self._scratch is None:
            self._scratch = os.path.join(scratch_parent() or _tmp(), f"mlops-lint-{os.getpid()}-{time.monotonic_ns()}")
            os.mkdir(self._scratch, 0o700)
        return self._scratch

    def start(self, paths: list[str], names: list[str], notebooks: set[str] | None = None) -> bool:
        """Start ruff over ``paths`` (files linted in place) and the virtual modules ``names``
        (already written into :meth:`scratch`); ``notebooks``: those of both that are notebooks
        (ruff need not report their E402). False when there is nothing to lint."""
        self.notebooks = set(notebooks or ())
        if not paths and not names:
            return False
        inputs = list(paths)
        self._given = (list(paths), list(names))
        if names:
            inputs.append(self.scratch())
        # ruff's worker threads get small stacks, which deeply nested code overflows
        env = {**os.environ, "RUST_MIN_STACK": os.environ.get("RUST_MIN_STACK", str(64 * 1024 * 1024))}
        self._proc = subprocess.Popen(self.command(inputs), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        return True

    def _deepest(self) -> InputError:
        """The error for a ruff crash on nesting: the most deeply nested input, named."""
        paths, modules = self._given
        texts = {p: Path(p).read_text(encoding="utf-8", errors="replace") for p in paths}
        texts.update({f"a notebook (as {name})": Path(self._scratch or "", name).read_text(encoding="utf-8")
                      for name in modules})
        depth = {where: _nesting(text) for where, text in texts.items()}
        where = max(depth, key=depth.__getitem__)
        return InputError(f"code nested {depth[where]} brackets deep: ruff crashed on it", path=where)

    def wait(self) -> list[dict]:
        """ruff's diagnostics ({filename, code, message, location: {row, column}}, code None
        for a syntax error); a virtual module's filename is its bare name, a file's its
        absolute path (as given to :meth:`start`, or the real path ruff found it by)."""
        if self._proc is None:
            return []
        try:
            out, err = self._proc.communicate()
            if self._proc.returncode != 0:
                message = (err.decode(errors="replace").strip().splitlines() or ["ruff failed"])[-1]
                if "stack overflow" in message:
                    raise self._deepest()
                raise InputError(f"ruff could not run: {message}", path=self.config)
            paths, modules = self._given
            scratch = self._scratch + os.sep if self._scratch else None
            return parse_concise(out.decode("utf-8", "replace"), os.getcwd(), set(paths), scratch)
        finally:
            self.close()

    def close(self) -> None:
        """Stop ruff if it still runs and remove the scratch folder (also after an error)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None
        if self._scratch:
            for name in os.listdir(self._scratch):  # flat: only the modules write_modules() wrote
                os.unlink(os.path.join(self._scratch, name))
            os.rmdir(self._scratch)
            self._scratch = None


#: a concise line: file name (the shortest prefix before a position), row, column, code, the
#: fix marker ruff writes before a fixable finding's message
_LINE = re.compile(r"(.*?):(\d+):(\d+): (\S+)(?: (?:\[\*\] )?|$)")
_POSITION = re.compile(r":(\d+):(\d+): (\S+)(?: (?:\[\*\] )?|$)")


def parse_concise(text: str, cwd: str, paths: set[str], scratch: str | None) -> list[dict]:
    """ruff's concise lines (``file:row:column: CODE [*] message``, a syntax error's code
    written ``invalid-syntax:``, or ``SyntaxError:`` by older ruff) as diagnostics. File names
    are relative to ``cwd`` when inside it and may hold colons: the name is the shortest
    prefix before a position that is an input (``paths``, or a module in the ``scratch``
    folder), else the first one; a line that is no finding continues the message before it."""
    names: dict[str, tuple[str, bool]] = {}  # as printed -> (as given, an input?)

    def resolve(name: str) -> tuple[str, bool]:
        full = name if os.path.isabs(name) else os.path.join(cwd, name)
        if scratch is not None and full.startswith(scratch):
            return full[len(scratch):], True
        return full, full in paths

    out: list[dict] = []
    for line in text.splitlines():
        parts = line.split(":", 3)  # the usual case: no colon in the file name
        if len(parts) == 4 and parts[1].isdigit() and parts[2].isdigit() and parts[3][:1] == " ":
            name, row, column, rest = parts
            resolved = names.get(name)
            if resolved is None:
                resolved = names[name] = resolve(name)
            if resolved[1]:
                code, _, message = rest[1:].partition(" ")
                if message[:4] == "[*] ":
                    message = message[4:]
                out.append({"filename": resolved[0], "code": None if code.endswith(":") else code,
                            "message": message, "location": {"row": int(row), "column": int(column)}})
                continue
        m = _LINE.match(line)
        if m is None:
            if not line:
                continue
            if not out:
                raise MlopsError(f"ruff printed a line that is not a finding: {line[:200]!r}")
            out[-1]["message"] += "\n" + line
            continue
        full, known = resolve(m.group(1))
        if not known:  # a file name with a position-like part: the first prefix that is an input
            for later in _POSITION.finditer(line, m.end(1) + 1):
                candidate = resolve(line[: later.start()])
                if candidate[1]:
                    full, m = candidate[0], later
                    break
        code = m.group(m.lastindex)
        out.append({"filename": full, "code": None if code.endswith(":") else code, "message": line[m.end():],
                    "location": {"row": int(m.group(m.lastindex - 2)), "column": int(m.group(m.lastindex - 1))}})
    return out


def write_modules(folder: str, modules: dict[str, str]) -> None:
    """Write virtual modules {name: text} into ``folder`` (each a new file, owner-only)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    for name, text in modules.items():  # os.write: cheaper than a buffered file object
        fd = os.open(os.path.join(folder, name), flags, 0o600)
        try:
            data = memoryview(text.encode("utf-8"))
            while data:
                data = data[os.write(fd, data):]
        finally:
            os.close(fd)


def _nesting(text: str) -> int:
    depth = deepest = 0
    for m in re.finditer(r"[\[({\])}]", text):
        depth = depth + 1 if m.group() in "[({" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest


def _tmp() -> str:
    import tempfile

    return tempfile.gettempdir()


def run_ruff(modules: dict[str, str], select: list[str], ignore: list[str], root: Path | None,
             notebooks: set[str] | None = None) -> list[dict]:
    """Lint virtual modules {name: text} with one ruff process; its JSON diagnostics."""
    run = RuffRun(select, ignore, root)
    if modules:
        write_modules(run.scratch(), modules)
    run.start([], list(modules), notebooks)
    return run.wait()
