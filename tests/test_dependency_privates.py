"""No private name of a dependency is patched or relied on, except the few docs/DEVELOPING.md lists.

A library's private names change without notice (databricks-sdk 0.167 began calling its own
``_is_retryable`` with ``method=``, and every request of ours crashed where we had replaced it).
The scan below finds every ``x._name`` in the package whose name the package itself never
defines, every import from a library's private module and every ``getattr(x, "_name")``; each
must be in KEPT, and each entry of KEPT must still be used and have the shape we call.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import devops_mlops

import pytest

pytestmark = pytest.mark.fast

PACKAGE = Path(devops_mlops.__file__).parent

#: (file under devops_mlops/, private name) -> why it stays (the same list is in docs/DEVELOPING.md)
KEPT = {
    ("adapters/azure/connection.py", "_send"):
        "azure-devops Client._send: requests by location id whose typed models drop fields we need",
    ("kernel/shim/tracebacks.py", "_showtraceback"):
        "IPython's documented hook for subclasses; ipykernel's override publishes the error message",
}
#: documented public names that happen to start with an underscore
PUBLIC = {"_exit", "_asdict", "_replace", "_fields", "_make"}


def _defined_here() -> set[str]:
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.alias):
                names.add(node.asname or node.name.split(".")[0])
    return names


def _foreign_privates() -> set[tuple[str, str]]:
    ours = _defined_here()
    found: set[tuple[str, str]] = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = None
            if isinstance(node, ast.Attribute):
                name = node.attr
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")
                  and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
                name = node.args[1].value
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if any(part.startswith("_") and not part.startswith("__") for part in node.module.split(".")):
                    found.add((rel, node.module))
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.add((rel, alias.name))
                continue
            if not name or not name.startswith("_") or name.startswith("__") or name in PUBLIC:
                continue
            if name in ours and (rel, name) not in KEPT:
                continue
            found.add((rel, name))
    return found


def test_no_private_name_of_a_dependency_is_used_beyond_the_kept_list():
    found = _foreign_privates()
    assert found - set(KEPT) == set(), "private names of a dependency: use a public setting, or list them in KEPT"
    assert set(KEPT) - found == set(), "KEPT lists a private name that is no longer used: remove it"


def test_the_kept_list_is_the_documented_one():
    text = (PACKAGE.parent / "docs" / "DEVELOPING.md").read_text(encoding="utf-8")
    for (_file, name) in KEPT:
        assert f"`{name}`" in text


def test_azure_devops_client_send_has_the_shape_we_call():
    from azure.devops.client import Client

    params = inspect.signature(Client._send).parameters
    assert {"http_method", "location_id", "version", "route_values", "query_parameters", "content"} <= set(params)


def test_ipython_showtraceback_has_the_shape_we_call():
    from IPython.core.interactiveshell import InteractiveShell

    assert list(inspect.signature(InteractiveShell._showtraceback).parameters)[1:] == ["etype", "evalue", "stb"]
