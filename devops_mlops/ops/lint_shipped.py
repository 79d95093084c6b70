"""Lint rule MLO201: a notebook imports a module the target will not have.

On Databricks a job task has the platform's own libraries and what `mlops deploy` shipped: the
project's package (its wheel), the requirements that package declares (``[project].dependencies``
of its pyproject.toml, and the project's requirements.txt), what those pull in, and the toolkit.
A notebook importing anything else works on this machine and fails there with a
ModuleNotFoundError, so it is reported here ("import not shipped to the target").

Allowed: the standard library, ``pyspark`` (every Databricks runtime has it), ``devops_mlops``,
the project package's top-level modules, the modules of the declared requirements and of their
own requirements (found through the installed distributions' metadata; a requirement that is not
installed here counts by its name), and modules next to the notebook (sync uploads them as
workspace files and the notebook's folder is on ``sys.path``). Active only when the project
ships a package (a pyproject.toml, see ``package`` in mlops.yaml). ``# noqa: MLO201`` silences it.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from pathlib import Path

from ..core import pyast
from ..core.lint import Finding, python_cells
from ..core.notebook import Notebook

CODE = "MLO201"
_PLATFORM = {"pyspark", "devops_mlops", "__future__"}
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _package_folder(root: Path, loaded=None) -> Path | None:
    config = root / "mlops.yaml"
    folder, enabled = root, True
    if loaded is not None and loaded.path == config.resolve():  # already read by the caller
        folder, enabled = (root / loaded.package.path).resolve(), loaded.package.enabled
    elif config.is_file():
        try:
            from ..config import load_config

            pkg = load_config(config).package
            folder, enabled = (root / pkg.path).resolve(), pkg.enabled
        except Exception:  # an invalid mlops.yaml is reported by the commands that need it
            pass
    if not enabled or not (folder / "pyproject.toml").is_file():
        return None
    import tomllib

    try:
        name = (tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8")).get("project") or {}).get("name")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return None if _norm(str(name or "")) == "devops-mlops" else folder  # the toolkit ships itself


def _declared(folder: Path, root: Path) -> list[str]:
    import tomllib

    try:
        doc = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return []
    reqs = list((doc.get("project") or {}).get("dependencies") or [])
    for req_file in {folder / "requirements.txt", root / "requirements.txt"}:
        if req_file.is_file():
            reqs += [ln for ln in req_file.read_text(encoding="utf-8").splitlines()
                     if ln.strip() and not ln.lstrip().startswith(("#", "-"))]
    return [m.group(1) for r in reqs if (m := _REQ_NAME.match(r))]


def _dist_modules(dist) -> set[str]:
    top = dist.read_text("top_level.txt")
    if top:
        return {ln.strip() for ln in top.splitlines() if ln.strip()}
    out = set()
    for line in (dist.read_text("RECORD") or "").splitlines():
        first = line.split(",", 1)[0].split("/", 1)[0]
        if not first or first.endswith((".dist-info", ".egg-info", ".data", ".pth")) or first in ("..", "__pycache__"):
            continue
        out.add(first[:-3] if first.endswith(".py") else first)
    return out


def own_modules(folder: Path) -> set[str]:
    """The standard library, the platform's and the package's own top-level modules."""
    mods = set(_PLATFORM) | set(sys.stdlib_module_names)
    for base in (folder / "src", folder):
        if base.is_dir():
            mods |= {p.name for p in base.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
            mods |= {p.stem for p in base.glob("*.py") if p.name != "setup.py"}
    return mods


def shipped_modules(folder: Path, root: Path) -> set[str]:
    """Top-level modules a task has: :func:`own_modules` and the requirements' (transitively)."""
    import importlib.metadata as md

    mods = own_modules(folder)
    installed = {}
    for entry in sys.path:  # one listing per path entry; names from the folder names (no METADATA parsing)
        folder_path = Path(entry or ".")
        if not folder_path.is_dir():
            continue
        for info in folder_path.glob("*.dist-info"):
            installed.setdefault(_norm(info.name[: -len(".dist-info")].split("-")[0]), md.PathDistribution(info))
    seen: set[str] = set()
    pending = _declared(folder, root)
    while pending:
        name = _norm(pending.pop())
        if name in seen:
            continue
        seen.add(name)
        dist = installed.get(name)
        if dist is None:
            mods.add(name.replace("-", "_"))
            continue
        mods |= _dist_modules(dist)
        for req in dist.requires or []:
            if "extra ==" not in req and (m := _REQ_NAME.match(req)):
                pending.append(m.group(1))
    return mods


def _imports(source: str) -> list[tuple[int, str]]:
    try:
        tree = pyast.parse(source)
    except SyntaxError:
        from ..core.escapes import mask_escapes

        try:
            tree = pyast.parse("\n".join(mask_escapes(source.split("\n"))))
        except SyntaxError:
            return []  # reported by ruff (E999)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name.split(".")[0]) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.append((node.lineno, node.module.split(".")[0]))
    return out


def _beside(notebook: Path) -> set[str]:
    folder = notebook.parent
    names = {p.name for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    for p in folder.glob("*.py"):
        head = p.read_bytes()[:40]
        if not head.startswith(b"# Databricks notebook source"):
            names.add(p.stem)
    return names


def check(notebooks: list[Notebook | None], shown: list[str], root: Path | None, *, load=None,
          config=None) -> list[Finding]:
    """MLO201 findings for ``notebooks`` (displayed as ``shown``) of the project at ``root``;
    ``load(index)`` reads a notebook the list does not hold (parsed elsewhere); ``config`` is the
    project's configuration when the caller has read it already (not read again)."""
    folder = _package_folder(root, config) if root else None
    if folder is None:
        return []
    own = own_modules(folder)
    found: list[tuple[str, int, int, str]] = []  # (path, line, cell, module) beyond the package's own
    for index, (nb, path) in enumerate(zip(notebooks, shown)):
        if nb is None and load is not None:
            nb = load(index)
        if nb is None or nb.format == "plain":
            continue
        local = _beside(Path(os.path.abspath(nb.path)))
        for cell_no, cell, start in python_cells(nb):
            lines = cell.source.split("\n")
            code = "\n".join([""] * (start - 1) + lines[start - 1:])
            for line, module in _imports(code):
                if module in own or module in local:
                    continue
                text = lines[line - 1] if 0 < line <= len(lines) else ""
                if re.search(rf"#\s*noqa(:[^#]*\b{CODE}\b|\s*$)", text):
                    continue
                found.append((path, line if nb.format == "ipynb" else cell.file_line(line), cell_no, module))
    if not found:
        return []
    shipped = shipped_modules(folder, root)  # the requirements' metadata: read only when needed
    return [Finding(path, line, 1, cell_no, CODE, "error",
                    f"import not shipped to the target: {module!r} is neither in the project package nor in its "
                    f"declared requirements ({folder / 'pyproject.toml'})")
            for path, line, cell_no, module in found if module not in shipped]
