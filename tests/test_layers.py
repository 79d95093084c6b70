"""The import contract of the package: the layers of docs/DEVELOPING.md hold, no module cycle
exists (an import inside a function counts), and core does no I/O.

Read from the source with ``ast`` (no import runs), so a violation is reported with its file and
line before any test of behaviour runs. Imports under ``if TYPE_CHECKING:`` count for the layers
(a use case that names an adapter's type still knows the adapter) but not for cycles.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast

PACKAGE = Path(__file__).resolve().parents[1] / "devops_mlops"

#: each layer and the layers it may import (itself always allowed)
FOUNDATION = {"errors", "yamlload", "schema", "killpoint", "deps", "console", "progress", "config_file", "config",
              "files"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "yamlload": {"errors"},
    "schema": {"errors", "yamlload"},
    "killpoint": {"errors"},
    "deps": {"errors", "console"},
    "console": {"errors", "progress"},
    "progress": {"errors"},
    "config_file": {"errors", "yamlload"},
    "config": {"errors", "yamlload", "schema", "config_file", "console", "core"},
    # local file I/O the use cases share (notebook files, job files, reports on disk)
    "files": {"errors", "yamlload", "schema", "console", "config", "core"},
    "core": {"errors", "yamlload", "schema"},
    "ports": {"errors", "core"},
    "kernel": FOUNDATION | {"core", "ports"},
    "adapters": FOUNDATION | {"core", "ports", "kernel"},
    "context": FOUNDATION,  # the composition root names its adapters by string (context.ADAPTERS)
    "ops": FOUNDATION | {"core", "ports", "kernel", "context"},
    "adf": FOUNDATION | {"core", "ports", "kernel", "context", "ops"},
    "runtime": FOUNDATION | {"core", "ports", "kernel", "context", "ops"},
    "cli": FOUNDATION | {"core", "context", "ops", "adf"},
    "__main__": {"cli"},
    "__init__": set(),
    "testing": None,  # the emulators and fakes may use anything
    "templates": None,
}

#: modules of core may not import these (core does no I/O)
IO_MODULES = {"subprocess", "socket", "shutil", "tempfile", "requests", "urllib.request", "http.client", "sqlite3",
              "multiprocessing", "asyncio", "glob"}
#: ... nor call these (on any object: a path, a file, os)
IO_CALLS = {"open", "read_text", "write_text", "read_bytes", "write_bytes", "is_file", "is_dir", "exists", "iterdir",
            "glob", "rglob", "mkdir", "unlink", "rename", "rmdir", "touch", "stat", "getenv", "system", "popen",
            "scandir", "listdir"}
#: I/O only with one argument (str.replace takes two) or on ``os`` (ast.walk is not)
IO_CALLS_ONE_ARG = {"replace"}
IO_CALLS_ON_OS = {"walk"}


@dataclass(frozen=True)
class Import:
    source: str  # module importing
    target: str  # module imported (a module of the package)
    line: int
    in_function: bool
    type_checking: bool

    def where(self) -> str:
        return f"{module_path(self.source)}:{self.line}"


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "templates" in path.relative_to(PACKAGE).parts:
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = modules()


def module_path(name: str) -> str:
    return str(MODULES[name].relative_to(PACKAGE.parent))


def layer(name: str) -> str:
    parts = name.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def _resolve(source: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = source.split(".")
        if MODULES[source].name != "__init__.py":
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    out = []
    for alias in node.names:
        candidate = f"{target}.{alias.name}"
        out.append(candidate if candidate in MODULES else target)
    return out


def _known(target: str) -> str | None:
    while target and target not in MODULES:
        if "." not in target:
            return None
        target = target.rsplit(".", 1)[0]
    return target or None


def imports_of(source: str) -> list[Import]:
    tree = ast.parse(MODULES[source].read_text(encoding="utf-8"))
    found: list[Import] = []

    def walk(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in _resolve(source, child):
                    known = _known(target) if target.startswith("devops_mlops") else None
                    if known and known != source:
                        found.append(Import(source, known, child.lineno, in_function, type_checking))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                walk(child, True, type_checking)
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                walk(child, in_function, True)
            else:
                walk(child, in_function, type_checking)

    walk(tree, False, False)
    return found


ALL_IMPORTS = [imp for name in sorted(MODULES) for imp in imports_of(name)]


def wrong_way_imports() -> list[str]:
    out = []
    for imp in ALL_IMPORTS:
        src, dst = layer(imp.source), layer(imp.target)
        if src == dst:
            continue
        allowed = ALLOWED.get(src, set())
        if allowed is None:
            continue
        if dst not in allowed and dst != "__init__":
            out.append(f"{imp.where()}: {src} may not import {dst} ({imp.target})")
    return out


def cycles() -> list[list[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for imp in ALL_IMPORTS:
        if not imp.type_checking:
            graph[imp.source].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:  # Tarjan, iterative enough for a package of a few hundred modules
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(MODULES):
        if v not in index:
            strong(v)
    return found


def layer_cycles() -> list[tuple[str, str]]:
    pairs = {(layer(i.source), layer(i.target)) for i in ALL_IMPORTS if not i.type_checking}
    return sorted((a, b) for a, b in pairs if a < b and (b, a) in pairs)


def core_io() -> list[str]:
    out = []
    for name, path in MODULES.items():
        if layer(name) != "core":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                names = []
            for n in names:
                if n in IO_MODULES or n.split(".")[0] in {"subprocess", "socket", "shutil", "tempfile", "requests"}:
                    out.append(f"{module_path(name)}:{node.lineno}: core imports {n}")
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
                on = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
                if (called in IO_CALLS or (called in IO_CALLS_ONE_ARG and isinstance(func, ast.Attribute) and len(node.args) == 1)
                        or (called in IO_CALLS_ON_OS and on == "os")):
                    out.append(f"{module_path(name)}:{node.lineno}: core calls {called}()")
            if isinstance(node, ast.Attribute) and node.attr == "environ":
                out.append(f"{module_path(name)}:{node.lineno}: core reads the environment")
    return out


def test_every_module_belongs_to_a_known_layer():
    unknown = sorted({layer(m) for m in MODULES} - set(ALLOWED))
    assert not unknown, f"modules outside the layers of docs/DEVELOPING.md: {unknown}"


def test_no_import_goes_the_wrong_way():
    bad = wrong_way_imports()
    assert not bad, "\n".join(bad)


def test_no_module_cycle():
    found = cycles()
    assert not found, "\n".join(" <-> ".join(c) for c in found)


def test_no_layer_cycle():
    assert not layer_cycles()


def test_core_does_no_io():
    bad = core_io()
    assert not bad, "\n".join(bad)


def test_the_checker_sees_a_cycle_and_a_wrong_way_import(monkeypatch):
    """The contract can fail: a cycle and an upward import planted in the graph are found."""
    planted = [Import("devops_mlops.core.lint", "devops_mlops.core.notebook", 1, True, False),
               Import("devops_mlops.core.notebook", "devops_mlops.core.lint", 1, True, False),
               Import("devops_mlops.core.lint", "devops_mlops.ops.lint", 7, True, False)]
    monkeypatch.setattr(__import__(__name__), "ALL_IMPORTS", planted, raising=False)
    globals_backup = globals()["ALL_IMPORTS"]
    globals()["ALL_IMPORTS"] = planted
    try:
        assert ["devops_mlops.core.lint", "devops_mlops.core.notebook"] in cycles()
        assert any("core may not import ops" in line for line in wrong_way_imports())
    finally:
        globals()["ALL_IMPORTS"] = globals_backup


if __name__ == "__main__":  # a report of where the package stands
    print("cycles:", len(cycles()))
    for c in cycles():
        print("  ", " <-> ".join(c))
    print("layer cycles:", layer_cycles())
    ww = wrong_way_imports()
    print("wrong-way imports:", len(ww))
    for line in ww:
        print("  ", line)
    io = core_io()
    print("core I/O:", len(io))
    for line in io:
        print("  ", line)
    big = sorted((len(p.read_text().splitlines()), n) for n, p in MODULES.items() if layer(n) != "testing")
    print("modules over 400 lines:", [f"{n} {c}" for c, n in big if c > 400])
