"""Azure Pipelines YAML: template-expression handling, template expansion and our own rules.

Pure logic, no I/O: files come in through a ``load`` callback, and the check of
``mlops …`` command lines through a ``check_command`` callback (the ops layer
gives it the real click commands). Every value keeps where it came from (file,
key path) so each finding names a file line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from ..yamlload import Lines, line_of

# ----------------------------------------------------------------------------- findings

#: finding codes (docs/pipelines.md lists them)
CODES = {
    "PL000": "unreadable YAML",
    "PL100": "does not match the Azure Pipelines schema",
    "PL101": "secret variable expanded inside a script body",
    "PL102": "secret value written in the YAML",
    "PL103": "JUnit results not published",
    "PL104": "schedule-only pipeline runs on other triggers or is skipped",
    "PL105": "push back to the repository without a loop guard",
    "PL106": "mlops command line does not parse",
    "PL107": "mlops command does not exist",
    "PL108": "template not found",
    "PL109": "template parameters do not match",
    "PL110": "rejected by the Azure DevOps pipeline preview API (--remote)",
    "PL111": "task looks like a misspelled or newer built-in task (warning)",
    "PL112": "task input the task does not have, or a value outside its choices (warning)",
    "PL113": "required task input missing",
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int | None
    code: str
    message: str
    column: int | None = None
    severity: str = "error"

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        }


@dataclass(frozen=True)
class Loc:
    """Where a value came from: a file, its line map, a key path in it."""

    file: str
    lines: Lines = field(compare=False, hash=False, repr=False)
    path: tuple = ()

    def child(self, *keys: Any) -> Loc:
        return Loc(self.file, self.lines, self.path + keys)

    @property
    def line(self) -> int | None:
        return line_of(self.lines, self.path)

    def finding(self, code: str, message: str, offset: int = 0) -> Finding:
        line = self.line
        return Finding(self.file, line + offset if line is not None else None, code, message)


# ----------------------------------------------------------------------------- expressions

_EXPR_KEY = re.compile(r"^\$\{\{\s*(if|elseif|else|each|insert)\b(.*?)\}\}$", re.DOTALL)
_WHOLE_EXPR = re.compile(r"^\s*(\$\{\{.*\}\}|\$\[.*\])\s*$", re.DOTALL)
_PARAM_REF = re.compile(r"\$\{\{\s*parameters\.([A-Za-z_][\w-]*)\s*\}\}")


def is_expression(text: Any) -> bool:
    return isinstance(text, str) and text.startswith("${{") and text.endswith("}}")


class Expr(str):
    """A whole-value expression (``${{ … }}`` or ``$[ … ]``): its type is known only at run time."""


class Unknown(Exception):
    pass


def evaluate(expr: str, params: dict[str, Any]) -> Any:
    """A small evaluator for template conditions: eq, ne, and, or, not, in, notIn,
    startsWith, endsWith, contains, literals and ``parameters.x``. Raises Unknown."""
    tokens = re.findall(r"'(?:[^']|'')*'|[A-Za-z_][\w.\-\[\]']*|\d+(?:\.\d+)?|[(),]", expr)
    pos = 0

    def parse() -> Any:
        nonlocal pos
        if pos >= len(tokens):
            raise Unknown(expr)
        tok = tokens[pos]
        pos += 1
        if tok.startswith("'"):
            return tok[1:-1].replace("''", "'")
        if re.fullmatch(r"\d+(\.\d+)?", tok):
            return float(tok) if "." in tok else int(tok)
        low = tok.lower()
        if low in ("true", "false"):
            return low == "true"
        if pos < len(tokens) and tokens[pos] == "(":
            pos += 1
            args = []
            while tokens[pos] != ")":
                args.append(parse())
                if tokens[pos] == ",":
                    pos += 1
            pos += 1
            return _call(low, args)
        m = re.fullmatch(r"parameters(?:\.([\w-]+)|\['([^']+)'\])", tok)
        if m:
            name = m.group(1) or m.group(2)
            if name in params:
                return params[name]
        raise Unknown(tok)

    try:
        value = parse()
    except (IndexError, KeyError):
        raise Unknown(expr) from None
    return value


def _norm(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v).lower()


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.lower() not in ("", "false", "0")
    return bool(v)


def _call(name: str, args: list) -> Any:
    if name == "eq":
        return _norm(args[0]) == _norm(args[1])
    if name == "ne":
        return _norm(args[0]) != _norm(args[1])
    if name == "and":
        return all(_truthy(a) for a in args)
    if name == "or":
        return any(_truthy(a) for a in args)
    if name == "not":
        return not _truthy(args[0])
    if name == "in":
        return _norm(args[0]) in {_norm(a) for a in args[1:]}
    if name == "notin":
        return _norm(args[0]) not in {_norm(a) for a in args[1:]}
    if name == "startswith":
        return _norm(args[0]).startswith(_norm(args[1]))
    if name == "endswith":
        return _norm(args[0]).endswith(_norm(args[1]))
    if name == "contains":
        return _norm(args[1]) in _norm(args[0])
    raise Unknown(name)


def _decide(kind: str, cond: str, params: dict | None, chain: list) -> bool:
    """Whether an ``if``/``elseif``/``else`` branch is kept. Unknown conditions keep it."""
    if kind == "if":
        chain[:] = []
    if kind in ("elseif", "else") and any(r is True for r in chain):
        return False
    if kind == "else":
        return True
    if params is None:
        chain.append(None)
        return True
    try:
        result = _truthy(evaluate(cond, params))
    except Unknown:
        result = None
    chain.append(result)
    return result is not False


@dataclass
class Params:
    """Template parameters in scope: name -> value, and where each value was written."""

    values: dict[str, Any]
    locs: dict[str, Loc]


def resolve(value: Any, loc: Loc, params: Params | None, origins: dict, new: tuple = (), wildcard: bool = False) -> Any:
    """Unnest ``${{ if/each … }}`` keys, substitute ``${{ parameters.x }}`` (when ``params``),
    and record in ``origins`` the source Loc of every node of the result (keyed by its new path).
    Without params every branch is kept (the check-jsonschema transform's reading);
    with ``wildcard`` whole-value expressions become :class:`Expr` (valid as any type)."""
    origins[new] = loc
    if isinstance(value, dict):
        out: dict = {}
        for key, val, vloc in _entries(value, loc, params):
            out[key] = resolve(val, vloc, params, origins, new + (key,), wildcard)
        return out
    if isinstance(value, list):
        items = list(_items([(v, loc.child(i)) for i, v in enumerate(value)], params))
        return [resolve(v, vloc, params, origins, new + (j,), wildcard) for j, (v, vloc) in enumerate(items)]
    if isinstance(value, str):
        if params is not None:
            m = _PARAM_REF.fullmatch(value.strip())
            if m and m.group(1) in params.values:
                name = m.group(1)
                return resolve(params.values[name], params.locs[name], None, origins, new, wildcard)
            value = _PARAM_REF.sub(lambda m: _inline(m, params), value)
        if wildcard and _WHOLE_EXPR.match(value):
            return Expr(value)
    return value


def _inline(m: re.Match, params: Params) -> str:
    name = m.group(1)
    if name not in params.values or isinstance(params.values[name], (dict, list)):
        return m.group(0)
    return _norm(params.values[name]) if isinstance(params.values[name], bool) else str(params.values[name])


def _entries(mapping: dict, loc: Loc, params: Params | None) -> Iterable[tuple[Any, Any, Loc]]:
    chain: list = []
    for key, val in mapping.items():
        m = _EXPR_KEY.match(key) if isinstance(key, str) else None
        if m:
            kind = m.group(1)
            if kind in ("if", "elseif", "else") and not _decide(kind, m.group(2), params and params.values, chain):
                continue
            if isinstance(val, dict):
                yield from _entries(val, loc.child(key), params)
            continue
        if is_expression(key):
            continue  # a computed key (`${{ pair.key }}: …`): unknown until run time
        yield key, val, loc.child(key)


def _items(pairs: list[tuple[Any, Loc]], params: Params | None) -> Iterable[tuple[Any, Loc]]:
    chain: list = []
    for item, loc in pairs:
        if isinstance(item, dict) and len(item) == 1 and is_expression(next(iter(item))):
            key, val = next(iter(item.items()))
            m = _EXPR_KEY.match(key)
            kind = m.group(1) if m else "insert"
            if kind in ("if", "elseif", "else") and not _decide(kind, m.group(2), params and params.values, chain):
                continue
            if isinstance(val, list):
                yield from _items([(v, loc.child(key, i)) for i, v in enumerate(val)], params)
            elif val is not None:
                yield from _items([(val, loc.child(key))], params)
        else:
            chain = []
            yield item, loc


def origin(origins: dict, path: tuple) -> Loc:
    while path not in origins and path:
        path = path[:-1]
    return origins[path]


# ----------------------------------------------------------------------------- expansion


@dataclass
class Doc:
    path: str  # as shown in findings
    data: Any
    lines: Lines


@dataclass
class Step:
    data: dict
    origins: dict
    at: tuple  # the step's own path in origins

    def loc(self, *keys: Any) -> Loc:
        return origin(self.origins, self.at + keys)


@dataclass
class Job:
    data: dict
    loc: Loc
    steps: list[Step]

    @property
    def checkout(self) -> dict | None:
        return next((s.data for s in self.steps if "checkout" in s.data), None)


@dataclass
class Expanded:
    doc: Doc
    data: dict
    jobs: list[Job]
    templates: set[str]
    findings: list[Finding]
    origins: dict = field(default_factory=dict)


Loader = Callable[[str, str], "Doc | None"]  # (including file, template reference) -> Doc, None if missing


def template_params(doc: Doc, passed: dict, passed_loc: Loc | None, ref_loc: Loc, findings: list[Finding]) -> Params:
    declared = doc.data.get("parameters") if isinstance(doc.data, dict) else None
    values: dict[str, Any] = {}
    locs: dict[str, Loc] = {}
    base = Loc(doc.path, doc.lines, ("parameters",))
    names: set[str] = set()
    if isinstance(declared, list):
        for i, p in enumerate(declared):
            if isinstance(p, dict) and "name" in p:
                names.add(p["name"])
                if "default" in p:
                    values[p["name"]], locs[p["name"]] = p["default"], base.child(i, "default")
                elif p["name"] not in (passed or {}):
                    findings.append(ref_loc.finding("PL109", f"template {doc.path} needs parameter {p['name']!r}"))
                allowed = p.get("values")
                given = (passed or {}).get(p["name"])
                if isinstance(allowed, list) and given is not None and not is_expression(given) \
                        and _norm(given) not in {_norm(a) for a in allowed}:
                    findings.append(
                        (passed_loc or ref_loc).child(p["name"]).finding(
                            "PL109", f"{p['name']}: {given!r} is not one of {', '.join(map(str, allowed))}"
                        )
                    )
    elif isinstance(declared, dict):
        for name, default in declared.items():
            names.add(name)
            values[name], locs[name] = default, base.child(name)
    for name, val in (passed or {}).items():
        if names and name not in names:
            findings.append(
                (passed_loc or ref_loc).child(name).finding("PL109", f"template {doc.path} has no parameter {name!r}")
            )
        values[name] = val
        locs[name] = (passed_loc or ref_loc).child(name)
    return Params(values, locs)


def expand(doc: Doc, load: Loader) -> Expanded:
    """Resolve the templates a pipeline (or a template on its own) uses, into jobs of steps."""
    findings: list[Finding] = []
    templates: set[str] = set()
    root_loc = Loc(doc.path, doc.lines, ())
    params = template_params(doc, {}, None, root_loc, []) if _is_template_shape(doc.data) else Params({}, {})
    if not _is_template_shape(doc.data) and isinstance(doc.data.get("parameters"), list):
        # runtime parameters of a pipeline: their defaults are what a scheduled run uses
        for i, p in enumerate(doc.data["parameters"]):
            if isinstance(p, dict) and "name" in p and "default" in p:
                params.values[p["name"]] = p["default"]
                params.locs[p["name"]] = root_loc.child("parameters", i, "default")
    origins: dict = {}
    data = resolve(doc.data, root_loc, params, origins)
    jobs: list[Job] = []

    def include(node: dict, at: tuple, origins: dict, kind: str, from_doc: Doc) -> tuple[list, dict, Doc] | None:
        ref = node["template"]
        ref_loc = origin(origins, at + ("template",))
        if not isinstance(ref, str) or "@" in ref or is_expression(ref):
            return None
        tdoc = load(from_doc.path, ref)
        if tdoc is None:
            findings.append(ref_loc.finding("PL108", f"template {ref} not found"))
            return None
        templates.add(tdoc.path)
        if not isinstance(tdoc.data, dict):
            return None
        passed = node.get("parameters") if isinstance(node.get("parameters"), dict) else {}
        tparams = template_params(tdoc, passed, origin(origins, at + ("parameters",)), ref_loc, findings)
        t_origins: dict = {}
        tdata = resolve(tdoc.data, Loc(tdoc.path, tdoc.lines, ()), tparams, t_origins)
        items = tdata.get(kind) if isinstance(tdata, dict) else None
        return (items if isinstance(items, list) else []), t_origins, tdoc

    def walk_steps(items: list, at: tuple, origins: dict, from_doc: Doc, out: list[Step], depth: int = 0) -> None:
        for i, st in enumerate(items):
            if not isinstance(st, dict):
                continue
            if "template" in st and depth < 20:
                got = include(st, at + (i,), origins, "steps", from_doc)
                if got:
                    walk_steps(got[0], ("steps",), got[1], got[2], out, depth + 1)
                continue
            out.append(Step(st, origins, at + (i,)))

    def walk_jobs(items: list, at: tuple, origins: dict, from_doc: Doc, depth: int = 0) -> None:
        for i, job in enumerate(items):
            if not isinstance(job, dict):
                continue
            if "template" in job and depth < 20:
                got = include(job, at + (i,), origins, "jobs", from_doc)
                if got:
                    walk_jobs(got[0], ("jobs",), got[1], got[2], depth + 1)
                continue
            steps: list[Step] = []
            if isinstance(job.get("steps"), list):
                walk_steps(job["steps"], at + (i, "steps"), origins, from_doc, steps)
            strategy = job.get("strategy") if "deployment" in job else None
            if isinstance(strategy, dict):
                for sname, sbody in strategy.items():
                    if not isinstance(sbody, dict):
                        continue
                    for hook, hbody in sbody.items():
                        hooks = hbody.items() if hook == "on" and isinstance(hbody, dict) else [(hook, hbody)]
                        for hname, h in hooks:
                            if isinstance(h, dict) and isinstance(h.get("steps"), list):
                                hat = at + (i, "strategy", sname) + (("on", hname) if hook == "on" else (hook,))
                                walk_steps(h["steps"], hat + ("steps",), origins, from_doc, steps)
            jobs.append(Job(job, origin(origins, at + (i,)), steps))

    def walk_stages(items: list, at: tuple, origins: dict, from_doc: Doc, depth: int = 0) -> None:
        for i, stage in enumerate(items):
            if not isinstance(stage, dict):
                continue
            if "template" in stage and depth < 20:
                got = include(stage, at + (i,), origins, "stages", from_doc)
                if got:
                    walk_stages(got[0], ("stages",), got[1], got[2], depth + 1)
                continue
            if isinstance(stage.get("jobs"), list):
                walk_jobs(stage["jobs"], at + (i, "jobs"), origins, from_doc)

    if isinstance(data, dict):
        if isinstance(data.get("stages"), list):
            walk_stages(data["stages"], ("stages",), origins, doc)
        if isinstance(data.get("jobs"), list):
            walk_jobs(data["jobs"], ("jobs",), origins, doc)
        if isinstance(data.get("steps"), list):
            steps: list[Step] = []
            walk_steps(data["steps"], ("steps",), origins, doc, steps)
            jobs.append(Job(data, root_loc, steps))
    return Expanded(doc, data if isinstance(data, dict) else {}, jobs, templates, findings, origins)


PIPELINE_KEYS = {"trigger", "pr", "schedules", "pool", "name", "resources", "extends", "lockBehavior",
                 "appendCommitMessageToRunName"}


def _is_template_shape(data: Any) -> bool:
    return isinstance(data, dict) and "parameters" in data and not (PIPELINE_KEYS & set(data))


def is_template(doc: Doc) -> bool:
    if not isinstance(doc.data, dict) or PIPELINE_KEYS & set(doc.data):
        return False
    return "parameters" in doc.data or "templates" in PurePosixPath(doc.path.replace("\\", "/")).parts


# ----------------------------------------------------------------------------- script text

SCRIPT_KEYS = ("script", "bash", "pwsh", "powershell")
SCRIPT_INPUTS = {"script", "inlinescript", "inline", "arguments", "scriptarguments"}
_MACRO = re.compile(r"\$\(([A-Za-z_][\w.\-]*)\)")
_PLACEHOLDER_RX = re.compile(r"\$\{\{.*?\}\}|\$\[.*?\]|\$\([A-Za-z_][\w.\-]*\)", re.DOTALL)
PLACEHOLDER = "__AZP_VALUE__"


def script_bodies(step: Step) -> list[tuple[str, Loc]]:
    """(text, loc) for each script body of a step: script/bash/pwsh/powershell and script inputs."""
    out = []
    for key in SCRIPT_KEYS:
        if isinstance(step.data.get(key), str):
            out.append((step.data[key], step.loc(key)))
    inputs = step.data.get("inputs")
    if isinstance(inputs, dict):
        for key, val in inputs.items():
            if isinstance(key, str) and key.lower() in SCRIPT_INPUTS and isinstance(val, str):
                out.append((val, step.loc("inputs", key)))
    return out


def body_line(text: str, loc: Loc, index: int) -> Finding | int | None:
    """The file line of line ``index`` of a script body (block scalars start on the next line)."""
    line = loc.line
    if line is None:
        return None
    return line + (1 + index if "\n" in text.rstrip("\n") or text.endswith("\n") else 0)


def logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """(0-based index of the first physical line, the joined line) with `\\` continuations joined."""
    buf, start = "", 0
    for i, raw in enumerate(text.split("\n")):
        if not buf:
            start = i
        if raw.rstrip().endswith("\\"):
            buf += raw.rstrip()[:-1] + " "
            continue
        yield start, buf + raw
        buf = ""
    if buf:
        yield start, buf


_SEPARATORS = {"&&", "||", ";", "|", "&", "(", ")", ";;", "|&"}


def mlops_commands(text: str) -> list[tuple[int, list[str]]]:
    """Each ``mlops …`` (or ``python -m devops_mlops …``) command in a shell script:
    (0-based line index, the arguments after the program). ``$(var)``, ``${{ … }}``
    and shell variables become the PLACEHOLDER value."""
    found = []
    for index, line in logical_lines(text):
        if "mlops" not in line:
            continue
        line = _PLACEHOLDER_RX.sub(PLACEHOLDER, line)
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            tokens = list(lexer)
        except ValueError:
            continue
        at_start = True
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok in _SEPARATORS:
                at_start = True
                i += 1
                continue
            if at_start and re.fullmatch(r"[A-Za-z_]\w*=.*", tok):
                i += 1  # VAR=value prefix
                continue
            if at_start and tok in ("exec", "time", "command", "then", "do", "else", "if", "!"):
                i += 1
                continue
            prog_len = 0
            if at_start and (tok == "mlops" or tok.endswith("/mlops")):
                prog_len = 1
            elif at_start and re.fullmatch(r"(.*/)?python(3(\.\d+)?)?", tok) and tokens[i + 1: i + 3] == ["-m", "devops_mlops"]:
                prog_len = 3
            at_start = False
            if prog_len:
                j = i + prog_len
                args = []
                while j < len(tokens) and tokens[j] not in _SEPARATORS and not tokens[j].startswith((">", "<", "2>")):
                    args.append(PLACEHOLDER if "$" in tokens[j] else tokens[j])
                    j += 1
                found.append((index, args))
                i = j
                continue
            i += 1
    return found


def is_placeholder(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(is_placeholder(v) for v in value)
    return isinstance(value, str) and PLACEHOLDER in value


GLOBAL_VALUE_OPTIONS = {"--config", "--target", "--format"}


def subcommand(args: list[str]) -> tuple[str | None, bool]:
    """(the mlops subcommand, whether --dry-run was given before it)."""
    dry = False
    i = 0
    while i < len(args):
        a = args[i]
        if a in GLOBAL_VALUE_OPTIONS:
            i += 2
            continue
        if a == "--dry-run":
            dry = True
        elif not a.startswith("-"):
            return a, dry or "--dry-run" in args[i:]
        i += 1
    return None, dry


# ----------------------------------------------------------------------------- rules

SECRET_NAME = re.compile(
    r"(?i)(token|secret|password|passwd|pwd|credential|api[_-]?key|access[_-]?key|account[_-]?key|"
    r"private[_-]?key|connection[_-]?string|sas|(^|[._-])pat$|(^|[._-])key$)"
)
#: always secret, whatever the pattern says
KNOWN_SECRETS = {
    "system.accesstoken", "system_accesstoken", "databricks_token", "databricks_client_secret",
    "arm_client_secret", "azure_client_secret", "azure_devops_ext_pat",
}
NOT_SECRET = {"databricks_client_id", "arm_client_id", "arm_tenant_id", "azure_client_id", "azure_tenant_id"}
SKIP_MARKERS = ("[skip ci]", "[ci skip]", "skip-checks: true", "skip-checks:true", "[skip azurepipelines]",
                "[azurepipelines skip]", "[skip azpipelines]", "[azpipelines skip]", "[skip azp]", "[azp skip]",
                "***no_ci***")
PUSH_COMMANDS = {"commit", "monitor", "lifecycle"}

CommandCheck = Callable[[list[str]], "list[tuple[str, str]]"]


def is_secret_name(name: str) -> bool:
    low = name.lower()
    if low in KNOWN_SECRETS:
        return True
    if low in NOT_SECRET or low.endswith(("_id", ".id", "_url", "uri", "_host", "_type", "_name")):
        return False
    if re.search(r"[a-z0-9]Key$", name) and not low.startswith("cache"):
        return True  # storageKey, accountKey
    return bool(SECRET_NAME.search(name))


def _literal(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != "" and not _MACRO.search(value) and not is_expression(value) \
        and not value.strip().startswith("$[")


def check_secrets(step: Step) -> list[Finding]:
    out = []
    for text, loc in script_bodies(step):
        for index, raw in enumerate(text.split("\n")):
            for m in _MACRO.finditer(raw):
                if is_secret_name(m.group(1)):
                    env = re.sub(r"\W", "_", m.group(1)).upper()
                    f = loc.finding(
                        "PL101",
                        f"$({m.group(1)}) is expanded into the script text (it can leak into logs and process "
                        f"listings): map it through env: ({env}: $({m.group(1)})) and use ${env}",
                    )
                    out.append(Finding(f.path, body_line(text, loc, index), f.code, f.message, m.start() + 1))
    env = step.data.get("env")
    if isinstance(env, dict):
        for name, value in env.items():
            if isinstance(name, str) and is_secret_name(name) and _literal(value):
                out.append(step.loc("env", name).finding(
                    "PL102", f"env {name} has a literal value: take it from a variable group or Key Vault as $(...)"))
    return out


def check_variables(data: Any, origins: dict, at: tuple = ()) -> list[Finding]:
    """Secret-looking variables with literal values, anywhere in the pipeline."""
    out: list[Finding] = []
    if isinstance(data, dict):
        for key, val in data.items():
            if key == "variables":
                items = val.items() if isinstance(val, dict) else []
                for name, value in items:
                    if isinstance(name, str) and is_secret_name(name) and _literal(value):
                        out.append(_secret_literal(origin(origins, at + (key, name)), name))
                for i, item in enumerate(val if isinstance(val, list) else []):
                    if isinstance(item, dict) and isinstance(item.get("name"), str) and is_secret_name(item["name"]) \
                            and _literal(item.get("value")):
                        out.append(_secret_literal(origin(origins, at + (key, i, "value")), item["name"]))
            else:
                out.extend(check_variables(val, origins, at + (key,)))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            out.extend(check_variables(item, origins, at + (i,)))
    return out


def _secret_literal(loc: Loc, name: str) -> Finding:
    return loc.finding("PL102", f"variable {name} holds a secret in the YAML: move it to a variable group or "
                                f"Key Vault (a secret variable) and map it through env:")


def check_commands(step: Step, check_command: CommandCheck) -> list[Finding]:
    out = []
    for text, loc in script_bodies(step):
        for index, args in mlops_commands(text):
            for code, message in check_command(args):
                f = loc.finding(code, message)
                out.append(Finding(f.path, body_line(text, loc, index), code, message))
    return out


_JUNIT = re.compile(r"--junit(?:xml|-xml)?\b")
_OK_CONDITIONS = {"succeededorfailed()", "always()"}


def check_junit(job: Job) -> list[Finding]:
    out = []
    for i, step in enumerate(job.steps):
        for text, loc in script_bodies(step):
            if not _JUNIT.search(text):
                continue
            later = [s for s in job.steps[i + 1:] if str(s.data.get("task", "")).lower().startswith("publishtestresults@")]
            if not later:
                out.append(loc.finding("PL103", "this step writes JUnit results but no PublishTestResults@2 step follows "
                                                "it in the job"))
                continue
            cond = re.sub(r"\s", "", str(later[0].data.get("condition", ""))).lower()
            if cond not in _OK_CONDITIONS:
                out.append(later[0].loc().finding(
                    "PL103", "PublishTestResults@2 runs only when the tests pass: add condition: succeededOrFailed()"))
    return out


def pushes(step: Step) -> bool:
    for text, _loc in script_bodies(step):
        if re.search(r"\bgit\s+(-c\s+\S+\s+)*push\b", text):
            return True
        for _index, args in mlops_commands(text):
            name, dry = subcommand(args)
            if name in PUSH_COMMANDS and not dry and "--no-push" not in args:
                return True
    return False


def _trigger_excludes(data: dict) -> list[str] | None:
    trig = data.get("trigger")
    if isinstance(trig, dict) and isinstance(trig.get("paths"), dict):
        ex = trig["paths"].get("exclude")
        if isinstance(ex, list):
            return [str(x) for x in ex]
    return None


def _covered(path: str, patterns: list[str]) -> bool:
    from fnmatch import fnmatch

    path = path.strip("/")
    for p in patterns:
        p = p.strip("/")
        if path == p or path.startswith(p + "/") or fnmatch(path, p):
            return True
    return False


def check_push(exp: Expanded, job: Job, step: Step, skip_marker: str) -> list[Finding]:
    out = []
    loc = step.loc()
    job_text = "\n".join(t for s in job.steps for t, _ in script_bodies(s)).lower()
    is_git = any(re.search(r"\bgit\s+(-c\s+\S+\s+)*push\b", t) for t, _ in script_bodies(step))
    if is_git:
        marker_ok = any(m in job_text for m in SKIP_MARKERS)
    else:
        marker_ok = any(m in (skip_marker or "").lower() for m in SKIP_MARKERS)
    if not marker_ok:
        out.append(loc.finding("PL105", "this step pushes to the repository but its commits carry no skip marker "
                                        "([skip ci]): the push starts the CI pipelines again"))
    env = step.data.get("env") if isinstance(step.data.get("env"), dict) else {}
    checkout = job.checkout or {}
    if not _truthy(checkout.get("persistCredentials", False)) and "SYSTEM_ACCESSTOKEN" not in env:
        out.append(loc.finding("PL105", "this step pushes to the repository without credentials: map "
                                        "SYSTEM_ACCESSTOKEN: $(System.AccessToken) through env: or check out with "
                                        "persistCredentials: true"))
    if exp.data.get("trigger") != "none" and not _trigger_excludes(exp.data):
        out.append(loc.finding("PL105", "this pipeline pushes to the repository and its own CI trigger has no "
                                        "paths: exclude: of the committed paths (or trigger: none)"))
    return out


def check_schedule(exp: Expanded) -> list[Finding]:
    data = exp.data
    if not data.get("schedules"):
        return []
    loc = origin(exp.origins, ("schedules",))
    out = []
    if "trigger" not in data:
        out.append(loc.finding("PL104", "a pipeline with schedules and no trigger: also runs on every push to every "
                                        "branch: add trigger: none for a schedule-only pipeline"))
        return out
    if data.get("trigger") == "none":
        if "pr" not in data:
            out.append(loc.finding("PL104", "schedule-only pipeline without pr: none (pull requests would run it)"))
        for i, sched in enumerate(data["schedules"] if isinstance(data["schedules"], list) else []):
            if isinstance(sched, dict) and not _truthy(sched.get("always", False)):
                out.append(origin(exp.origins, ("schedules", i)).finding(
                    "PL104", "schedule without always: true: it is skipped when nothing changed since the last "
                             "scheduled run, so the monitoring stops"))
    return out


def check_loop_triggers(exp: Expanded, auto_paths: list[str], pusher: str) -> list[Finding]:
    """Another pipeline with a CI trigger must exclude the paths the auto-commit writes."""
    data = exp.data
    if data.get("trigger") == "none":
        return []
    loc = origin(exp.origins, ("trigger",) if "trigger" in data else ())
    excludes = _trigger_excludes(data)
    if not excludes:
        return [loc.finding("PL105", f"{pusher} pushes commits to the repository: exclude the committed paths from "
                                     f"this pipeline's trigger (trigger: paths: exclude:)")]
    missing = [p for p in auto_paths if not _covered(p, excludes)]
    if missing:
        return [loc.finding("PL105", f"{pusher} commits {', '.join(missing)}: add it to trigger: paths: exclude:")]
    return []


def check_all(
    expanded: list[Expanded],
    *,
    pipelines: set[str],
    check_command: CommandCheck,
    skip_marker: str = "[skip ci]",
    auto_paths: list[str] | None = None,
) -> list[Finding]:
    """Our rules over expanded pipelines (and templates used by none of them, on their own)."""
    findings: list[Finding] = []
    pushers: list[str] = []
    for exp in expanded:
        findings.extend(exp.findings)
        is_pipeline = exp.doc.path in pipelines
        findings.extend(check_variables(exp.data, exp.origins))
        if is_pipeline:
            findings.extend(check_schedule(exp))
        for job in exp.jobs:
            findings.extend(check_junit(job))
            for step in job.steps:
                findings.extend(check_secrets(step))
                findings.extend(check_commands(step, check_command))
                if is_pipeline and pushes(step):
                    pushers.append(exp.doc.path)
                    findings.extend(check_push(exp, job, step, skip_marker))
    if pushers:
        for exp in expanded:
            if exp.doc.path in pipelines and exp.doc.path not in pushers:
                findings.extend(check_loop_triggers(exp, auto_paths or [], pushers[0]))
            elif exp.doc.path in pushers and auto_paths and _trigger_excludes(exp.data):
                findings.extend(check_loop_triggers(exp, auto_paths, exp.doc.path))
    seen: set = set()
    unique = []
    for f in findings:
        key = (f.path, f.line, f.code, f.message)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return sorted(unique, key=lambda f: (f.path, f.line or 0, f.code))
