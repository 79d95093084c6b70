"""`mlops lint`: our notebook rules plus ruff over every Python cell, in one ruff run.

API::

    result = lint_paths([Path("notebooks")], select=[], ignore=[], fix=False)
    result.findings   # list[core.lint.Finding], sorted
    result.ok         # no findings left

Everything is read and parsed before anything is written: a malformed file stops
the run (exit 2) with nothing changed; ``fix`` rewrites .ipynb files atomically.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..core import notebook as nbm
from ..core.lint import (
    DATABRICKS_GLOBALS,
    Finding,
    check_notebook,
    code_selected,
    defined_names,
    python_source,
    resolve_run_target,
)
from ..errors import InputError, MlopsError

DEFAULT_SELECT = ["E4", "E7", "E9", "F", "MLO", "SEC"]
OUR_PREFIXES = ("MLO", "SEC")


@dataclass
class LintResult:
    files: list[str]
    findings: list[Finding] = field(default_factory=list)
    fixed: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> dict:
        return {
            "files": len(self.files),
            "fixed": self.fixed,
            "findings": [f.to_json() for f in self.findings],
            "summary": {
                "findings": len(self.findings),
                "errors": sum(1 for f in self.findings if f.severity == "error"),
                "warnings": sum(1 for f in self.findings if f.severity == "warning"),
                "files_with_findings": len({f.path for f in self.findings}),
            },
        }


def display_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive
        return str(path)


def _scratch_dir() -> str | None:
    """A memory-backed folder for the virtual modules when there is one (creating a thousand
    small files on a disk-backed /tmp costs more than linting them)."""
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return None


def _ruff_bin() -> str:
    from ruff import find_ruff_bin

    return find_ruff_bin()


def _ruff_config(root: Path | None) -> Path | None:
    if root is None:
        return None
    for name in ("ruff.toml", ".ruff.toml"):
        if (root / name).is_file():
            return root / name
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and "[tool.ruff" in pyproject.read_text(encoding="utf-8", errors="replace"):
        return pyproject
    return None


def _ruff_codes(codes: list[str]) -> list[str]:
    return [c for c in codes if not c.startswith(OUR_PREFIXES) and c != "E999"]


def run_ruff(sources: dict[str, str], select: list[str], ignore: list[str], root: Path | None) -> list[dict]:
    """Lint virtual modules {name: text} with one ruff process; its JSON diagnostics."""
    if not sources:
        return []
    with tempfile.TemporaryDirectory(prefix="mlops-lint-", dir=_scratch_dir()) as tmp:
        for name, text in sources.items():
            Path(tmp, name).write_text(text, encoding="utf-8")
        cmd = [_ruff_bin(), "check", "--output-format", "json", "--no-cache", "--exit-zero", "--no-fix"]
        config = _ruff_config(root)
        cmd += ["--config", str(config)] if config else ["--isolated"]
        builtins = ", ".join(f'"{n}"' for n in DATABRICKS_GLOBALS)
        cmd += ["--config", f"builtins = [{builtins}]"]
        ruff_select = _ruff_codes(select)
        if ruff_select or not config:
            cmd += ["--select", ",".join(ruff_select) or "E4,E7,E9,F"]
        ruff_ignore = _ruff_codes(ignore)
        if ruff_ignore:
            cmd += ["--ignore", ",".join(ruff_ignore)]
        cmd.append(tmp)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            message = (proc.stderr.strip().splitlines() or ["ruff failed"])[-1]
            raise InputError(f"ruff could not run: {message}", path=config)
        try:
            diagnostics = json.loads(proc.stdout or "[]")
        except ValueError:
            raise MlopsError("ruff printed something that is not JSON") from None
        for d in diagnostics:
            d["filename"] = Path(d["filename"]).name
        return diagnostics


def _collect_run_names(nb: nbm.Notebook, cache: dict, stack: tuple = ()) -> set[str]:
    names: set[str] = set()
    for cell in nb.cells:
        target = cell.run_target
        if target is None:
            continue
        path = resolve_run_target(nb.path, target)
        if path is None or path in stack:
            continue
        if path not in cache:
            cache[path] = set()  # cycle guard while computing
            try:
                child = nbm.read(path)
            except InputError:
                continue
            cache[path] = defined_names(child) | _collect_run_names(child, cache, stack + (path,))
        names |= cache[path]
    return names


def lint_paths(
    paths: list[Path],
    *,
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    exclude: list[str] | None = None,
    fix: bool = False,
    root: Path | None = None,
) -> LintResult:
    select = list(select or DEFAULT_SELECT)
    ignore = list(ignore or [])
    files = nbm.iter_notebook_files(paths, exclude)
    notebooks = [nbm.read(f) for f in files]  # InputError (exit 2) before anything else
    result = LintResult(files=[display_path(f) for f in files])

    run_cache: dict = {}
    sources: dict[str, str] = {}
    maps: dict[str, tuple[int, list]] = {}
    preludes: dict[int, set[str]] = {}
    findings: list[Finding] = []
    for index, nb in enumerate(notebooks):
        findings += check_notebook(nb, result.files[index], lambda n, t: resolve_run_target(n.path, t))
        if nb.format == "plain" and nb.language != "python":
            continue
        preludes[index] = _collect_run_names(nb, run_cache) - set(DATABRICKS_GLOBALS)
        _add_source(nb, index, preludes[index], sources, maps, findings, result, isolate=False)

    diagnostics = run_ruff(sources, select, ignore, root)
    # a syntax error hides a module's other findings: lint those notebooks again
    # with the broken cells left out (and reported), in one more ruff run
    broken = sorted({maps[d["filename"]][0] for d in diagnostics if _is_syntax(d)})
    if broken:
        diagnostics = [d for d in diagnostics if maps[d["filename"]][0] not in broken]
        again: dict[str, str] = {}
        for index in broken:
            _add_source(notebooks[index], index, preludes[index], again, maps, findings, result, isolate=True)
        diagnostics += run_ruff(again, select, ignore, root)

    for d in diagnostics:
        index, line_map = maps[d["filename"]]
        where = line_map.lookup(d["location"]["row"])
        if where is None:
            continue
        nb = notebooks[index]
        code = "E999" if _is_syntax(d) else d["code"]
        if nb.is_notebook and code == "E402":
            continue  # imports in later cells are how notebooks are written
        if code == "F811" and line_map.prelude and "from line 1" in d["message"]:
            continue  # a notebook redefining a name its %run brought in
        message = d["message"] if code != "E999" else f"syntax error: {d['message']}"
        severity = "error" if code.startswith(("F", "E9")) else "warning"
        findings.append(
            Finding(
                result.files[index],
                where.line,
                d["location"]["column"] + where.col_offset,
                where.cell if nb.is_notebook else None,
                code,
                severity,
                message,
            )
        )

    findings = [f for f in findings if code_selected(f.code, select, ignore)]
    if fix:
        changed = [nb for nb in notebooks if nb.format == "ipynb" and nbm.strip_outputs(nb)]
        for nb in changed:
            nbm.write(nb)
        result.fixed = sum(1 for f in findings if f.fixable)
        findings = [f for f in findings if not f.fixable]
    result.findings = sorted(set(findings), key=lambda f: (f.path, f.cell or 0, f.line, f.column, f.code))
    return result


def _is_syntax(diagnostic: dict) -> bool:
    return diagnostic.get("code") in (None, "invalid-syntax", "E999") or diagnostic.get("name") == "invalid-syntax"


def _add_source(nb, index, prelude, sources, maps, findings, result, *, isolate: bool) -> None:
    text, line_map, syntax = python_source(nb, prelude, isolate_syntax_errors=isolate)
    shown = result.files[index]
    findings += [
        Finding(shown, f.line, f.column, f.cell if nb.is_notebook else None, f.code, f.severity, f.message)
        for f in syntax
    ]
    if line_map.has_code:
        name = f"nb{index:05d}{'s' if isolate else ''}.py"
        sources[name] = text
        maps[name] = (index, line_map)


def junit_suites(result: LintResult):
    from ..core.junit import Case, Failure, Suite

    suite = Suite("mlops lint")
    by_path: dict[str, list[Finding]] = {p: [] for p in result.files}
    for f in result.findings:
        by_path.setdefault(f.path, []).append(f)
    for path, items in by_path.items():
        case = Case(name=path, classname="mlops.lint", file=path)
        if items:
            text = "\n".join(f"{f.where()}: {f.code} {f.message}" for f in items)
            case.failure = Failure(f"{len(items)} finding(s)", text)
            case.line = items[0].line
        suite.cases.append(case)
    return [suite]
