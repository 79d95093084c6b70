"""The one place devops-mlops builds Python AST objects.

CPython 3.11 before 3.11.8 keeps the AST converter's recursion counter in shared state: two
threads building AST objects at once (``ast.parse``, ``compile(..., PyCF_ONLY_AST)``) can make
either fail with ``SystemError: AST constructor recursion depth mismatch`` (gh-106905). Any
Python code that runs while a tree is built (a garbage-collector callback, a finaliser) lets
another thread in. Every parse of ours goes through :func:`parse` or :func:`check`, which hold
one process-wide lock, and a ``SystemError`` raised anyway (a library parsing in a thread of its
own) is retried once before it is reported as an error a person can act on.
"""

from __future__ import annotations

import ast
import threading

from ..errors import MlopsError

_LOCK = threading.Lock()


class ParserFailure(MlopsError):
    """The interpreter's parser failed twice with a SystemError (not a syntax error in the input)."""

    exit_code = 1


def _guarded(fn, *args, **kwargs):
    with _LOCK:
        try:
            return fn(*args, **kwargs)
        except SystemError:
            try:
                return fn(*args, **kwargs)
            except SystemError as exc:
                raise ParserFailure(
                    f"the Python parser failed twice ({exc})",
                    hint="a known CPython bug before 3.11.8 (gh-106905) when threads parse at once; "
                         "run again, or use Python 3.11.8 or newer") from None


def parse(source: str, filename: str = "<unknown>", mode: str = "exec") -> ast.Module:
    """``ast.parse`` under the process-wide lock; SyntaxError and ValueError pass through."""
    return _guarded(ast.parse, source, filename, mode)


def check(source: str, filename: str = "<cell>") -> None:
    """Raise SyntaxError (or ValueError, RecursionError) when ``source`` does not parse; build no code."""
    _guarded(compile, source, filename, "exec", ast.PyCF_ONLY_AST)
