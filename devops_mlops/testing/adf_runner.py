"""Run the Data Factory pipelines `mlops adf export` generates, on this machine.

A small interpreter for the subset of pipeline JSON the export writes, so the
notebook contract (docs/adf.md) is exercised end to end without a factory::

    factory = LocalFactory("adf/production", config_path="mlops.yaml", target="production",
                           notebook_params={"target": "local"})
    run = factory.run("monitor_model", {"teams_webhook_url": hook.url_for("teams")})
    run.status                      # Succeeded | Failed
    [a.name for a in run.all_activities() if a.status == "Succeeded"]

Activities: ``DatabricksNotebook`` (the workspace path mapped back to the repository
file for ``target``, the inverse of :func:`devops_mlops.core.jobdefs.remote_notebook_path`;
``baseParameters`` evaluated, then ``notebook_params`` applied on top; run by
:func:`devops_mlops.kernel.runner.run_notebook` in a fresh kernel), ``IfCondition``,
``Until`` (do-while, with its timeout), ``ExecutePipeline`` (``waitOnCompletion``),
``SetVariable`` (declared variables, typed), ``WebActivity`` (a real HTTP request),
``Fail`` and ``Wait``; ``dependsOn`` with ``Succeeded`` / ``Failed`` / ``Skipped`` /
``Completed``; ``policy.retry``. Activities run one at a time, in dependency order.
A pipeline (or container) fails by Data Factory's leaf rule: every leaf activity
succeeded, or was skipped and its dependencies (evaluated the same way) succeeded.

Expressions (:func:`evaluate`): a string starting with ``@`` is an expression (``@@`` a
literal ``@``), ``@{...}`` inside a string is interpolated; ``{"value", "type": "Expression"}``
too. A recursive-descent parser (no ``eval``) over literals (``'it''s'``, numbers,
``true``/``false``/``null``), function calls, ``.name`` and ``[index]``, with the
functions in ``FUNCTIONS`` and ``pipeline()``, ``activity(name)``, ``variables(name)``.

Assumptions where Data Factory's documentation is silent: a notebook's exit value that is a
JSON object or array is ``runOutput`` as that object (``string()`` serialises it back to
compact JSON), any other exit value is the string; ``string(true)`` is ``"True"``.
Not emulated: parallel branches, ForEach/Switch/Lookup/Copy, concurrency, the secure
input/output flags (values are shown as they are).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any


class ExpressionError(Exception):
    """An expression that does not parse or cannot be evaluated (Data Factory fails the activity)."""


class PipelineError(Exception):
    """A pipeline this runner cannot run (an unknown activity type, a missing pipeline or parameter)."""


# =============================================================================== expressions
_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(?P<str>'(?:[^']|'')*')|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<punct>\?\.|[().,\[\]]))"
)


def _tokens(text: str) -> list[tuple[str, Any]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"unexpected {text[pos:pos + 20]!r} at {pos} in {text!r}")
        pos = m.end()
        if m.group("num") is not None:
            raw = m.group("num")
            out.append(("lit", float(raw) if any(c in raw for c in ".eE") else int(raw)))
        elif m.group("str") is not None:
            out.append(("lit", m.group("str")[1:-1].replace("''", "'")))
        elif m.group("name") is not None:
            out.append(("name", m.group("name")))
        else:
            out.append(("punct", m.group("punct")))
    return out


class _Parser:
    """expr := atom postfix* ; atom := literal | true | false | null | name '(' [expr (',' expr)*] ')' ;
    postfix := '.' name | '?.' name | '[' expr ']'"""

    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def parse(self):
        node = self.expr()
        if self.i != len(self.toks):
            raise ExpressionError(f"unexpected {self.toks[self.i][1]!r} after a complete expression in {self.text!r}")
        return node

    def peek(self, value: str | None = None):
        if self.i >= len(self.toks):
            return None
        tok = self.toks[self.i]
        return tok if value is None or (tok[0] == "punct" and tok[1] == value) else None

    def take(self, value: str):
        if not self.peek(value):
            got = self.toks[self.i][1] if self.i < len(self.toks) else "the end"
            raise ExpressionError(f"expected {value!r}, got {got!r} in {self.text!r}")
        self.i += 1

    def expr(self):
        tok = self.peek()
        if tok is None:
            raise ExpressionError(f"unexpected end of {self.text!r}")
        self.i += 1
        if tok[0] == "lit":
            node: tuple = ("lit", tok[1])
        elif tok[0] == "name" and tok[1] in ("true", "false", "null") and not self.peek("("):
            node = ("lit", {"true": True, "false": False, "null": None}[tok[1]])
        elif tok[0] == "name":
            self.take("(")
            args = []
            if not self.peek(")"):
                args.append(self.expr())
                while self.peek(","):
                    self.i += 1
                    args.append(self.expr())
            self.take(")")
            node = ("call", tok[1], args)
        else:
            raise ExpressionError(f"unexpected {tok[1]!r} in {self.text!r}")
        while True:
            if self.peek(".") or self.peek("?."):
                safe = self.toks[self.i][1] == "?."
                self.i += 1
                name = self.peek()
                if name is None or name[0] != "name":
                    raise ExpressionError(f"expected a property name after '.' in {self.text!r}")
                self.i += 1
                node = ("get", node, ("lit", name[1]), safe)
            elif self.peek("["):
                self.i += 1
                index = self.expr()
                self.take("]")
                node = ("get", node, index, False)
            else:
                return node


def to_string(value: Any) -> str:
    """Data Factory's string(): objects and arrays as compact JSON, booleans as True/False."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _num(v: Any) -> float | int:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ExpressionError(f"expected a number, got {v!r}")
    return v


def _int(v: Any) -> int:
    if isinstance(v, bool):
        raise ExpressionError(f"int() of a boolean: {v!r}")
    try:
        return int(v) if not isinstance(v, str) else int(v.strip())
    except (TypeError, ValueError):
        raise ExpressionError(f"int(): {v!r} is not an integer") from None


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    if isinstance(v, (int, float)):
        return v != 0
    raise ExpressionError(f"bool(): {v!r} is not a boolean")


def _need_bool(v: Any, fn: str) -> bool:
    if not isinstance(v, bool):
        raise ExpressionError(f"{fn}() expects booleans, got {v!r}")
    return v


def _contains(coll: Any, item: Any) -> bool:
    if isinstance(coll, str):
        if not isinstance(item, str):
            raise ExpressionError(f"contains() of a string needs a string to look for, got {item!r}")
        return item in coll
    if isinstance(coll, dict):
        return item in coll
    if isinstance(coll, list):
        return item in coll
    raise ExpressionError(f"contains() needs a string, an array or an object, got {coll!r}")


def _compare(a: Any, b: Any, op: Callable[[Any, Any], bool], fn: str) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return op(a, b)
    return op(_num(a), _num(b))


def _json(v: Any) -> Any:
    if not isinstance(v, str):
        return v
    try:
        return json.loads(v)
    except ValueError:
        raise ExpressionError(f"json(): not JSON: {v[:80]!r}") from None


def _div(a: Any, b: Any) -> Any:
    a, b = _num(a), _num(b)
    if b == 0:
        raise ExpressionError("div(): division by zero")
    return a // b if isinstance(a, int) and isinstance(b, int) else a / b


def _concat(*args: Any) -> Any:
    if args and all(isinstance(a, list) for a in args):
        return [x for a in args for x in a]
    return "".join(to_string(a) for a in args)


def _f(name: str, fn: Callable, lo: int, hi: int | None = None) -> tuple[str, Callable]:
    """``name`` -> ``fn`` with its argument count checked (lo..hi; 99: any number)."""
    hi = lo if hi is None else hi

    def call(*args):
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo}-{hi}" if hi < 99 else f"at least {lo}"
            raise ExpressionError(f"{name}() takes {want} argument(s), got {len(args)}")
        try:
            return fn(*args)
        except (TypeError, ValueError, AttributeError) as exc:
            raise ExpressionError(f"{name}(): {exc}") from None

    return name, call


#: the functions the generator uses, and a few neighbours
FUNCTIONS: dict[str, Callable] = dict(
    [
        _f("string", to_string, 1),
        _f("int", _int, 1),
        _f("float", lambda v: float(v), 1),
        _f("bool", _bool, 1),
        _f("json", _json, 1),
        _f("concat", _concat, 1, 99),
        _f("toLower", lambda s: to_string(s).lower(), 1),
        _f("toUpper", lambda s: to_string(s).upper(), 1),
        _f("trim", lambda s: to_string(s).strip(), 1),
        _f("replace", lambda s, a, b: to_string(s).replace(a, b), 3),
        _f("split", lambda s, d: to_string(s).split(d), 2),
        _f("startsWith", lambda s, p: to_string(s).lower().startswith(to_string(p).lower()), 2),
        _f("endsWith", lambda s, p: to_string(s).lower().endswith(to_string(p).lower()), 2),
        _f("substring", lambda s, i, n=None: s[_int(i):] if n is None else s[_int(i):_int(i) + _int(n)], 2, 3),
        _f("indexOf", lambda s, x: s.lower().find(x.lower()), 2),
        _f("contains", _contains, 2),
        _f("length", lambda v: len(v), 1),
        _f("empty", lambda v: v is None or len(v) == 0, 1),
        _f("first", lambda v: v[0] if v else None, 1),
        _f("last", lambda v: v[-1] if v else None, 1),
        _f("createArray", lambda *a: list(a), 1, 99),
        _f("coalesce", lambda *a: next((x for x in a if x is not None), None), 1, 99),
        _f("add", lambda a, b: _num(a) + _num(b), 2),
        _f("sub", lambda a, b: _num(a) - _num(b), 2),
        _f("mul", lambda a, b: _num(a) * _num(b), 2),
        _f("div", _div, 2),
        _f("mod", lambda a, b: math.fmod(_num(a), _num(b)) if isinstance(a, float) else _num(a) % _num(b), 2),
        _f("min", lambda *a: min(a[0]) if len(a) == 1 else min(a), 1, 99),
        _f("max", lambda *a: max(a[0]) if len(a) == 1 else max(a), 1, 99),
        _f("equals", lambda a, b: a == b and type(a) is type(b) or (_isnum(a) and _isnum(b) and a == b), 2),
        _f("not", lambda a: not _need_bool(a, "not"), 1),
        _f("and", lambda *a: all(_need_bool(x, "and") for x in a), 2, 99),
        _f("or", lambda *a: any(_need_bool(x, "or") for x in a), 2, 99),
        _f("greater", lambda a, b: _compare(a, b, lambda x, y: x > y, "greater"), 2),
        _f("greaterOrEquals", lambda a, b: _compare(a, b, lambda x, y: x >= y, "greaterOrEquals"), 2),
        _f("less", lambda a, b: _compare(a, b, lambda x, y: x < y, "less"), 2),
        _f("lessOrEquals", lambda a, b: _compare(a, b, lambda x, y: x <= y, "lessOrEquals"), 2),
        _f("utcnow", lambda fmt=None: _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), 0, 1),
        _f("guid", lambda fmt=None: str(uuid.uuid4()), 0, 1),
    ]
)


def _isnum(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Scope:
    """What an expression sees: ``pipeline()``, ``activity(name)`` (the runs so far, innermost first)
    and ``variables(name)``."""

    def __init__(self, pipeline: dict[str, Any] | None = None, variables: dict[str, Any] | None = None,
                 activities: dict[str, dict[str, Any]] | None = None, parent: Scope | None = None):
        self.pipeline = pipeline if pipeline is not None else (parent.pipeline if parent else {"parameters": {}})
        self.variables = variables if variables is not None else (parent.variables if parent else {})
        self.activities: dict[str, dict[str, Any]] = activities if activities is not None else {}
        self.parent = parent

    def child(self) -> Scope:
        return Scope(parent=self)

    def activity(self, name: str) -> dict[str, Any]:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.activities:
                return scope.activities[name]
            scope = scope.parent
        raise ExpressionError(f"activity('{name}'): no such activity has run yet")


def _eval(node: tuple, scope: Scope) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "get":
        obj, key = _eval(node[1], scope), _eval(node[2], scope)
        if obj is None and node[3]:
            return None
        if isinstance(obj, dict):
            if key in obj:
                return obj[key]
            lowered = {str(k).lower(): v for k, v in obj.items()}
            if isinstance(key, str) and key.lower() in lowered:  # property names are case-insensitive
                return lowered[key.lower()]
            if node[3]:
                return None
            raise ExpressionError(f"property {key!r} does not exist (has: {', '.join(map(str, obj)) or 'none'})")
        if isinstance(obj, (list, str)) and isinstance(key, int):
            try:
                return obj[key]
            except IndexError:
                raise ExpressionError(f"index {key} out of range") from None
        raise ExpressionError(f"cannot take {key!r} of {to_string(obj)[:80]!r}")
    _, name, args = node
    if name == "pipeline":
        if args:
            raise ExpressionError("pipeline() takes no argument")
        return scope.pipeline
    if name == "activity":
        return scope.activity(to_string(_eval(args[0], scope)))
    if name == "variables":
        var = to_string(_eval(args[0], scope))
        if var not in scope.variables:
            raise ExpressionError(f"variables('{var}'): not declared")
        return scope.variables[var]
    if name == "if":
        if len(args) != 3:
            raise ExpressionError("if() takes 3 arguments")
        return _eval(args[1] if _need_bool(_eval(args[0], scope), "if") else args[2], scope)
    fn = FUNCTIONS.get(name)
    if fn is None:
        raise ExpressionError(f"unknown function {name}()")
    return fn(*[_eval(a, scope) for a in args])


def evaluate_expression(text: str, scope: Scope | None = None) -> Any:
    """One expression, without its leading '@': ``contains(toLower('A'), 'a')`` -> True."""
    return _eval(_Parser(text).parse(), scope or Scope())


def _interpolate(text: str, scope: Scope) -> str:
    out, i = [], 0
    while True:
        j = text.find("@{", i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:j])
        k, depth, quoted = j + 2, 1, False
        while k < len(text) and depth:
            ch = text[k]
            if ch == "'":
                quoted = not quoted
            elif not quoted and ch == "{":
                depth += 1
            elif not quoted and ch == "}":
                depth -= 1
            k += 1
        if depth:
            raise ExpressionError(f"unclosed '@{{' in {text[j:j + 40]!r}")
        out.append(to_string(evaluate_expression(text[j + 2:k - 1], scope)))
        i = k


def evaluate(value: Any, scope: Scope | None = None) -> Any:
    """A property value as Data Factory resolves it: ``{"value", "type": "Expression"}`` and strings
    starting with '@' are expressions ('@@' escapes), '@{...}' is interpolated; objects and arrays
    are resolved member by member."""
    scope = scope or Scope()
    if isinstance(value, dict):
        if value.get("type") == "Expression" and set(value) <= {"value", "type"}:
            return evaluate(str(value["value"]), scope)
        return {k: evaluate(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [evaluate(v, scope) for v in value]
    if not isinstance(value, str):
        return value
    if value.startswith("@@"):
        return value[1:]
    if value.startswith("@") and not value.startswith("@{"):
        return evaluate_expression(value[1:], scope)
    if "@{" in value:
        return _interpolate(value, scope)
    return value


# =============================================================================== runs
@dataclass
class ActivityRun:
    name: str
    type: str
    pipeline: str
    status: str  # Succeeded | Failed | Skipped
    input: dict[str, Any] = field(default_factory=dict)
    output: Any = None
    error: dict[str, str] | None = None
    iteration: int | None = None  # inside an Until: the iteration (1-based)
    duration: float = 0.0


@dataclass
class PipelineRun:
    name: str
    run_id: str
    parameters: dict[str, Any]
    status: str = "InProgress"
    activities: list[ActivityRun] = field(default_factory=list)
    children: list[PipelineRun] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    error: dict[str, str] | None = None

    def all_activities(self) -> list[ActivityRun]:
        """This run's activity runs and those of the pipelines it executed, in the order they ran."""
        out: list[ActivityRun] = []
        children = {c.run_id: c for c in self.children}
        for a in self.activities:
            out.append(a)
            if a.type == "ExecutePipeline" and isinstance(a.output, dict) and a.output.get("pipelineRunId") in children:
                out.extend(children[a.output["pipelineRunId"]].all_activities())
        return out

    def runs_of(self, name: str) -> list[ActivityRun]:
        return [a for a in self.all_activities() if a.name == name and a.status != "Skipped"]


#: (local notebook path, widget values) -> (status passed|failed|..., exit value, one-line error)
NotebookRunner = Callable[[Path, dict[str, str]], tuple[str, str | None, str | None]]


def _timespan(text: str | None, default: float) -> float:
    """'D.HH:MM:SS' (or 'HH:MM:SS') -> seconds."""
    if not text:
        return default
    m = re.fullmatch(r"(?:(\d+)\.)?(\d+):(\d+):(\d+)", str(text))
    if not m:
        return default
    d, h, mi, s = (int(x or 0) for x in m.groups())
    return float(((d * 24 + h) * 60 + mi) * 60 + s)


def local_notebook(config, target, remote: str) -> Path:
    """The repository file that ``mlops sync`` puts at workspace path ``remote`` for ``target``
    (the inverse of :func:`devops_mlops.core.jobdefs.remote_notebook_path`)."""
    from ..core.jobdefs import NOTEBOOK_EXTS, remote_notebook_path

    if target.backend == "databricks" and target.repo_path:
        base, folder = target.repo_path, config.root
    else:
        base, folder = (target.workspace_dir or "/") if target.backend == "databricks" else "/", config.notebooks_dir
    try:
        rel = PurePosixPath(remote).relative_to(PurePosixPath(base.rstrip("/") or "/"))
    except ValueError:
        raise PipelineError(f"notebook {remote}: not under {base}, where sync puts target {target.name}'s notebooks") from None
    stem = Path(folder) / rel
    for cand in [stem, *(stem.with_name(stem.name + e) for e in NOTEBOOK_EXTS)]:
        if cand.is_file() and remote_notebook_path(config, target, cand, tracked=None) == remote:
            return cand
    raise PipelineError(f"notebook {remote}: no file {stem}[{'|'.join(NOTEBOOK_EXTS)}] in the repository")


class LocalFactory:
    """The exported pipelines of one folder (``pipeline/*.json``), run locally.

    ``notebook_params``: widget values put over every notebook activity's evaluated
    ``baseParameters`` (e.g. ``{"target": "local"}``: the notebooks of a production export run
    against the embedded default). ``env``: for the kernels. ``max_retry_wait``: cap on
    ``policy.retryIntervalInSeconds`` and ``Wait`` (seconds). ``on_activity``: called with each
    finished :class:`ActivityRun`.
    """

    def __init__(self, folder: str | Path, *, config_path: str | Path, target: str,
                 notebook_params: dict[str, str] | None = None, env: dict[str, str] | None = None,
                 notebook_timeout: float = 1800, notebook_runner: NotebookRunner | None = None,
                 max_retry_wait: float = 1.0, factory_name: str = "local-factory",
                 on_activity: Callable[[ActivityRun], None] | None = None):
        from ..context import Context

        self.folder = Path(folder)
        self.pipelines: dict[str, dict] = {}
        for f in sorted((self.folder / "pipeline").glob("*.json")):
            doc = json.loads(f.read_text())
            self.pipelines[doc["name"]] = doc["properties"]
        if not self.pipelines:
            raise PipelineError(f"no pipeline/*.json in {self.folder} (run mlops adf export first)")
        ctx = Context.create(config_path=config_path, target=target)
        self.config, self.target = ctx.config, ctx.target
        self.notebook_params = dict(notebook_params or {})
        from ..kernel.entry_points import kernel_env

        # the kernels import the project's own package (python_path), as the local jobs do
        self.env = {"MLOPS_CONFIG": str(Path(config_path).resolve()), **kernel_env(ctx.config), **(env or {})}
        self.notebook_timeout = notebook_timeout
        self.notebook_runner = notebook_runner or self._run_notebook
        self.max_retry_wait = max_retry_wait
        self.factory_name = factory_name
        self.on_activity = on_activity

    # ------------------------------------------------------------------ pipelines
    def run(self, pipeline: str, parameters: dict[str, Any] | None = None) -> PipelineRun:
        props = self.pipelines.get(pipeline)
        if props is None:
            raise PipelineError(f"no pipeline {pipeline!r} (have: {', '.join(sorted(self.pipelines))})")
        params = self._parameters(pipeline, props.get("parameters") or {}, parameters or {})
        run = PipelineRun(pipeline, str(uuid.uuid4()), params)
        variables = {n: (v or {}).get("defaultValue", self._empty(v)) for n, v in (props.get("variables") or {}).items()}
        run.variables = variables
        scope = Scope(
            pipeline={"parameters": params, "RunId": run.run_id, "Pipeline": pipeline, "DataFactory": self.factory_name,
                      "TriggerTime": _dt.datetime.now(_dt.UTC).isoformat(), "TriggerType": "Manual",
                      "TriggerName": "Manual", "TriggerId": "local"},
            variables=variables)
        ok, failed = self._run_list(props.get("activities") or [], scope, run, None)
        run.status = "Succeeded" if ok else "Failed"
        if not ok:
            run.error = (failed.error if failed and failed.error else
                         {"errorCode": "PipelineFailed", "message": f"pipeline {pipeline} failed"})
        return run

    @staticmethod
    def _empty(spec: dict | None) -> Any:
        kind = (spec or {}).get("type", "String")
        return {"Bool": False, "Array": [], "Boolean": False}.get(kind, "")

    def _parameters(self, pipeline: str, declared: dict, given: dict) -> dict[str, Any]:
        unknown = set(given) - set(declared)
        if unknown:
            raise PipelineError(f"pipeline {pipeline}: no parameter(s) {', '.join(sorted(unknown))}")
        out: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in given:
                value = given[name]
            elif "defaultValue" in spec:
                value = spec["defaultValue"]
            else:
                raise PipelineError(f"pipeline {pipeline}: parameter {name} has no default and was not given")
            kind = spec.get("type", "String")
            try:
                if kind == "Int":
                    value = _int(value)
                elif kind in ("Float", "Double"):
                    value = float(value)
                elif kind == "Bool":
                    value = _bool(value)
                elif kind in ("String", "SecureString"):
                    value = to_string(value)
            except (ExpressionError, ValueError):
                raise PipelineError(f"pipeline {pipeline}: parameter {name} ({kind}) cannot be {value!r}") from None
            out[name] = value
        return out

    # ------------------------------------------------------------------ activity lists
    def _run_list(self, acts: list[dict], scope: Scope, run: PipelineRun,
                  iteration: int | None) -> tuple[bool, ActivityRun | None]:
        """Run ``acts`` in dependency order; (the leaf rule's verdict, the first failed activity run)."""
        by_name = {a["name"]: a for a in acts}
        status: dict[str, str] = {}
        first_failed: ActivityRun | None = None
        pending = list(acts)
        while pending:
            ready = [a for a in pending if all(d["activity"] in status for d in a.get("dependsOn") or [])]
            if not ready:
                raise PipelineError(f"pipeline {run.name}: dependency cycle or unknown dependency among "
                                    f"{', '.join(a['name'] for a in pending)}")
            for a in ready:
                pending.remove(a)
                met = all(self._condition(status[d["activity"]], d.get("dependencyConditions") or ["Succeeded"])
                          for d in a.get("dependsOn") or [])
                if met:
                    ar = self._activity(a, scope, run, iteration)
                else:
                    ar = ActivityRun(a["name"], a.get("type", ""), run.name, "Skipped", iteration=iteration)
                    run.activities.append(ar)
                status[a["name"]] = ar.status
                scope.activities[a["name"]] = {"output": ar.output, "status": ar.status, "error": ar.error}
                if ar.status == "Failed" and first_failed is None:
                    first_failed = ar
                if self.on_activity is not None:
                    self.on_activity(ar)
        dependents = {d["activity"] for a in acts for d in a.get("dependsOn") or []}

        def good(name: str) -> bool:
            if status[name] == "Succeeded":
                return True
            if status[name] == "Failed":
                return False
            return all(good(d["activity"]) for d in by_name[name].get("dependsOn") or [])

        return all(good(n) for n in by_name if n not in dependents), first_failed

    @staticmethod
    def _condition(status: str, conditions: list[str]) -> bool:
        return any(c == status or (c == "Completed" and status in ("Succeeded", "Failed")) for c in conditions)

    def _activity(self, a: dict, scope: Scope, run: PipelineRun, iteration: int | None) -> ActivityRun:
        kind = a.get("type", "")
        ar = ActivityRun(a["name"], kind, run.name, "Succeeded", iteration=iteration)
        run.activities.append(ar)
        handler = getattr(self, f"_do_{kind}", None)
        if handler is None:
            raise PipelineError(f"activity {a['name']}: type {kind!r} is not supported by the local runner")
        policy = a.get("policy") or {}
        tries = 1 + int(policy.get("retry") or 0)
        started = time.monotonic()
        for attempt in range(tries):
            ar.status, ar.output, ar.error = "Succeeded", None, None
            try:
                handler(a.get("typeProperties") or {}, scope, run, ar)
            except ExpressionError as exc:
                ar.status, ar.error = "Failed", {"errorCode": "InvalidTemplate", "message": str(exc)}
            if ar.status != "Failed" or kind in ("IfCondition", "Until", "ExecutePipeline", "Fail", "SetVariable"):
                break
            if attempt + 1 < tries:
                time.sleep(min(float(policy.get("retryIntervalInSeconds") or 30), self.max_retry_wait))
        ar.duration = time.monotonic() - started
        return ar

    # ------------------------------------------------------------------ activity types
    def _do_DatabricksNotebook(self, tp: dict, scope: Scope, run: PipelineRun, ar: ActivityRun) -> None:
        remote = to_string(evaluate(tp.get("notebookPath"), scope))
        params = {k: to_string(evaluate(v, scope)) for k, v in (tp.get("baseParameters") or {}).items()}
        params.update(self.notebook_params)
        ar.input = {"notebookPath": remote, "baseParameters": params}
        path = local_notebook(self.config, self.target, remote)
        status, exit_value, error = self.notebook_runner(path, params)
        ar.output = {"runPageUrl": f"file://{path}", "effectiveIntegrationRuntime": "local"}
        if status != "passed":
            ar.status = "Failed"
            ar.error = {"errorCode": "3204", "message": f"notebook {remote} {status}: {error}"}
            return
        if exit_value is not None:
            ar.output["runOutput"] = _run_output(exit_value)

    def _run_notebook(self, path: Path, params: dict[str, str]) -> tuple[str, str | None, str | None]:
        from ..kernel.runner import run_notebook

        result = run_notebook(path, params=params, timeout=self.notebook_timeout, env=self.env)
        where = f" (cell {result.cell}, line {result.line})" if result.cell else ""
        return result.status, result.exit_value, (f"{result.error}{where}" if result.error else None)

    def _do_IfCondition(self, tp: dict, scope: Scope, run: PipelineRun, ar: ActivityRun) -> None:
        verdict = evaluate(tp.get("expression"), scope)
        if not isinstance(verdict, bool):
            raise ExpressionError(f"the IfCondition expression must be a boolean, got {verdict!r}")
        ar.output = {"expression": verdict}
        branch = tp.get("ifTrueActivities" if verdict else "ifFalseActivities") or []
        ok, failed = self._run_list(branch, scope.child(), run, ar.iteration)
        if not ok:
            ar.status, ar.error = "Failed", (failed.error if failed else {"errorCode": "Failed", "message": "a branch failed"})

    def _do_Until(self, tp: dict, scope: Scope, run: PipelineRun, ar: ActivityRun) -> None:
        deadline = time.monotonic() + _timespan(tp.get("timeout"), 7 * 86400)
        iteration = 0
        while True:
            iteration += 1
            inner = scope.child()
            ok, failed = self._run_list(tp.get("activities") or [], inner, run, iteration)
            if not ok:
                ar.status = "Failed"
                ar.error = failed.error if failed else {"errorCode": "Failed", "message": "an activity failed"}
                break
            done = evaluate(tp.get("expression"), inner)
            if not isinstance(done, bool):
                raise ExpressionError(f"the Until expression must be a boolean, got {done!r}")
            if done:
                break
            if time.monotonic() > deadline:
                ar.status, ar.error = "Failed", {"errorCode": "ActivityTimedOut", "message": "Until timed out"}
                break
        ar.output = {"iterations": iteration}

    def _do_ExecutePipeline(self, tp: dict, scope: Scope, run: PipelineRun, ar: ActivityRun) -> None:
        name = tp["pipeline"]["referenceName"]
        params = {k: evaluate(v, scope) for k, v in (tp.get("parameters") or {}).items()}
        ar.input = {"pipeline": name, "parameters": params}
        child = self.run(name, params)
        run.children.append(child)
        ar.output = {"pipelineName": name, "pipelineRunId": child.run_id}
        if child.status != "Succeeded":
            ar.status = "Failed"
            err = child.error or {}
            ar.error = {"errorCode": err.get("errorCode", "2011"),
                        "message": f"Operation on target {name} failed: {err.get('message', '')}"}

    def _do_SetVariable(self, tp: dict, scope: Scope, run: PipelineRun, ar: ActivityRun) -> None:
        name = tp["variableName"]
        if name not in scope.variables:
            raise PipelineError(f"SetVariable {ar.name}: variable {name!r} is not declared")
        value = evaluate(tp.get("value"), scope)
        declared = (self.pipelines[run.name].get("variables") or {}).get(name, {}).get("type", "String")
        want = {"String": str, "Bool": bool, "Boolean": bool, "Array": list}.get(declared)
        if want is not None and not isinstance(value, want):
            raise ExpressionError(f"the variable {name!r} of type {declared} cannot be set to {value!r}")
        scope.variables[name] = value
        ar.input, ar.output = {"variableName": name}, {"value": value}

    def _do_WebActivity(self, tp: dict, scope: Scope, run: PipelineRun, ar: ActivityRun) -> None:
        method = to_string(evaluate(tp.get("method", "GET"), scope)).upper()
        url = to_string(evaluate(tp.get("url"), scope))
        headers = {k: to_string(v) for k, v in (evaluate(tp.get("headers") or {}, scope)).items()}
        body = evaluate(tp.get("body"), scope) if "body" in tp else None
        data = None if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
        ar.input = {"method": method, "url": url}
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:  # noqa: S310 - the URL the pipeline names
                text = resp.read().decode("utf-8", "replace")
                code = resp.status
        except urllib.error.HTTPError as exc:
            ar.status = "Failed"
            ar.error = {"errorCode": "2108", "message": f"{method} {url}: HTTP {exc.code} {exc.read()[:200]!r}"}
            return
        except (urllib.error.URLError, OSError) as exc:
            ar.status, ar.error = "Failed", {"errorCode": "2108", "message": f"{method} {url}: {exc}"}
            return
        try:
            ar.output = json.loads(text) if text.strip() else {"Response": ""}
        except ValueError:
            ar.output = {"Response": text}
        if isinstance(ar.output, dict):
            ar.output.setdefault("statusCode", code)

    def _do_Fail(self, tp: dict, scope: Scope, run: PipelineRun, ar: ActivityRun) -> None:
        ar.status = "Failed"
        ar.error = {"errorCode": to_string(evaluate(tp.get("errorCode"), scope)),
                    "message": to_string(evaluate(tp.get("message"), scope))}

    def _do_Wait(self, tp: dict, scope: Scope, run: PipelineRun, ar: ActivityRun) -> None:
        time.sleep(min(float(evaluate(tp.get("waitTimeInSeconds", 1), scope)), self.max_retry_wait))


def _run_output(exit_value: str) -> Any:
    try:
        parsed = json.loads(exit_value)
    except ValueError:
        return exit_value
    return parsed if isinstance(parsed, (dict, list)) else exit_value
