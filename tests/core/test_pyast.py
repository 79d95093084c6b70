"""No two threads of ours build Python AST objects at once (CPython gh-106905).

On Python 3.11 before 3.11.8 the AST converter keeps its recursion counter in shared state:
when Python code runs while a tree is being built (here a garbage-collector callback, in real
runs any finaliser), another thread can start a tree of its own and one of the two fails with
``SystemError: AST constructor recursion depth mismatch``. The harness below provokes exactly
that; the control proves it does on this interpreter, the stress test that our parsers, run
the same way, never fail.
"""

from __future__ import annotations

import ast
import gc
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from devops_mlops.core import pyast
from devops_mlops.core.lint import defined_names, python_source
from devops_mlops.files import notebooks as nbfiles
from devops_mlops.kernel.pool import modules_imported_by

AFFECTED = sys.version_info[:2] == (3, 11) and sys.version_info < (3, 11, 8)

SOURCE = "\n".join(
    f"import numpy\nfrom yaml import safe_load\n\ndef f{i}(a, b=1, *c, **d):\n"
    f"    return [x for x in (a, b) if x] + list(c) + [{{'k': (1, 2, [3, {{4}}])}}]\n"
    for i in range(40))


@contextmanager
def racy_interpreter():
    """Python code in every garbage collection, and threads switched as often as possible."""
    def callback(phase, info):
        total = 0
        for i in range(20):
            total += i

    interval = sys.getswitchinterval()
    thresholds = gc.get_threshold()
    gc.callbacks.append(callback)
    sys.setswitchinterval(1e-5)
    gc.set_threshold(100, 10, 10)
    try:
        yield
    finally:
        gc.callbacks.remove(callback)
        sys.setswitchinterval(interval)
        gc.set_threshold(*thresholds)


def hammer(*jobs, rounds: int) -> list[str]:
    """Run each job ``rounds`` times, all jobs at once in threads; the SystemErrors they raised."""
    errors: list[str] = []

    def loop(job):
        for _ in range(rounds):
            try:
                job()
            except SystemError as exc:
                errors.append(str(exc))

    with racy_interpreter():
        threads = [threading.Thread(target=loop, args=(job,)) for job in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return errors


@pytest.mark.skipif(not AFFECTED, reason="the race exists on Python 3.11 before 3.11.8 only")
def test_the_harness_reproduces_the_race_with_bare_ast_parse():
    errors = hammer(lambda: ast.parse(SOURCE), lambda: ast.parse(SOURCE), rounds=150)
    assert errors and "recursion depth mismatch" in errors[0]


def test_the_kernel_pools_parse_and_lints_parse_never_race(tmp_path: Path):
    module = tmp_path / "job.py"
    module.write_text(SOURCE)
    notebook = tmp_path / "nb.py"
    notebook.write_text("# Databricks notebook source\n" + SOURCE.replace("\n\n\n", "\n\n# COMMAND ----------\n\n"))
    nb = nbfiles.read(notebook)
    assert modules_imported_by([module]) and defined_names(nb)  # both really parse
    errors = hammer(lambda: modules_imported_by([module]),
                    lambda: defined_names(nb),
                    lambda: python_source(nb, set(), isolate_syntax_errors=True),
                    rounds=150)
    assert errors == []


@pytest.mark.fast  # the two race tests above are CPU stress: full tier
def test_a_systemerror_is_retried_once_then_reported_as_our_error(monkeypatch):
    calls = []

    def flaky(*args):
        calls.append(args)
        if len(calls) == 1:
            raise SystemError("AST constructor recursion depth mismatch (before=3, after=2)")
        return ast.parse(*args[:1])

    assert isinstance(pyast._guarded(flaky, "x = 1"), ast.Module) and len(calls) == 2

    def broken(*args):
        raise SystemError("AST constructor recursion depth mismatch (before=3, after=2)")

    with pytest.raises(pyast.ParserFailure) as exc:
        pyast._guarded(broken, "x = 1")
    assert exc.value.exit_code == 1 and "3.11.8" in exc.value.hint


@pytest.mark.fast
def test_syntax_errors_pass_through_unchanged():
    with pytest.raises(SyntaxError):
        pyast.parse("def (")
    with pytest.raises(SyntaxError):
        pyast.check("x = = 1")
    assert pyast.check("x = 1") is None


@pytest.mark.fast
def test_every_parse_of_the_package_goes_through_the_lock():
    import devops_mlops

    root = Path(devops_mlops.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "pyast.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "parse" \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "ast":
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
            if isinstance(node, ast.Attribute) and node.attr == "PyCF_ONLY_AST":
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []
