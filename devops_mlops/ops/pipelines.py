"""`mlops pipelines validate`: the Azure Pipelines YAML checked offline (schema + our rules);
``--remote`` also asks the service (ops/pipeline_preview.py).

The schema is the one check-jsonschema ships (vendored from the Azure Pipelines
VS Code extension), patched at load: values the service accepts pass (YAML
booleans and numbers where the schema says string, "true" where it says boolean,
case-insensitive task names, path filters with a trailing slash), ``${{ }}``
expressions are unnested (every branch kept) and whole-value expressions match any
type, and a template is wrapped into a pipeline. Task steps are checked against the
schema's per-task inputs by ``pipeline_tasks`` (without case, through aliases,
extension tasks left alone, input typos as warnings). The ``mlops`` command lines in scripts are
checked by the ``check_command`` the caller gives (the CLI parses them with its click commands).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..core import pipeline_rules as rules
from ..core.pipeline_rules import CommandCheck, Doc, Expr, Finding, Loc
from ..errors import InputError, UsageError
from ..yamlload import dotted, load_with_lines
from . import pipeline_tasks

DEFAULT_DIR = "azure-pipelines"


@dataclass
class ValidateResult:
    files: list[str]
    findings: list[Finding]
    unreadable: list[Finding] = field(default_factory=list)
    remote: dict = field(default_factory=lambda: {"status": "not requested"})

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.unreadable + self.findings if f.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors and self.remote.get("status") != "failed"

    def to_dict(self) -> dict:
        return {
            "files": self.files,
            "findings": [f.as_dict() for f in self.unreadable + self.findings],
            "remote": self.remote,
            "ok": self.ok,
        }


# ----------------------------------------------------------------------------- files


def discover(paths: list[str], root: Path | None) -> list[Path]:
    if not paths:
        base = Path(DEFAULT_DIR)
        if not base.is_dir() and root is not None and (root / DEFAULT_DIR).is_dir():
            base = root / DEFAULT_DIR
        if not base.is_dir():
            raise UsageError(f"no {DEFAULT_DIR}/ folder here: give the pipeline files to validate")
        paths = [str(base)]
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(x for x in p.rglob("*") if x.suffix in (".yml", ".yaml") and x.is_file()))
        elif p.exists():
            out.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    return out


def shown(p: Path) -> str:
    """``p`` as findings name it: relative to the current folder when under it."""
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return p.as_posix()


class Loader:
    """Loads pipeline files once; resolves template references relative to the including file."""

    def __init__(self, repo_root: Path):
        self.repo_root = repo_root
        self.docs: dict[Path, Doc | None] = {}

    def load(self, path: Path) -> Doc:
        key = path.resolve()
        if key not in self.docs:
            data, lines = load_with_lines(path)  # InputError on malformed YAML
            self.docs[key] = Doc(shown(path), data if data is not None else {}, lines)
        doc = self.docs[key]
        assert doc is not None
        return doc

    def template(self, including: str, ref: str) -> Doc | None:
        ref = ref.strip()
        base = self.repo_root if ref.startswith("/") else Path(including).parent
        path = base / ref.lstrip("/")
        if not path.is_file():
            return None
        try:
            return self.load(path)
        except InputError:
            return None  # reported when the file itself is validated


def repo_root(start: Path) -> Path:
    for folder in (start.resolve(), *start.resolve().parents):
        if (folder / ".git").exists():
            return folder
    return Path.cwd()


# ----------------------------------------------------------------------------- schema


def schema_path() -> Path:
    import check_jsonschema

    return Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "azure-pipelines.json"


_BOOL_WORDS = {"true", "false", "y", "yes", "n", "no", "on", "off"}


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return None


@lru_cache(maxsize=1)
def validator():
    """A Draft 7 validator for the vendored schema, patched to read values as the service does."""
    from jsonschema import Draft7Validator, validators
    from jsonschema.exceptions import ValidationError

    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    tasks = pipeline_tasks.split_tasks(schema)
    pipeline_tasks.relax_path_filters(schema)

    def is_string(_checker, inst):
        return isinstance(inst, (str, bool, int, float))

    def is_boolean(_checker, inst):
        return isinstance(inst, bool) or (isinstance(inst, str) and inst.lower() in _BOOL_WORDS)

    def is_integer(_checker, inst):
        return (isinstance(inst, int) and not isinstance(inst, bool)) or (
            isinstance(inst, str) and re.fullmatch(r"-?\d+", inst) is not None
        )

    checker = Draft7Validator.TYPE_CHECKER.redefine_many(
        {"string": is_string, "boolean": is_boolean, "integer": is_integer, "number": is_integer}
    )

    def pattern(_v, patrn, instance, schema):
        text = _text(instance)
        if text is None:
            return
        flags = re.IGNORECASE if schema.get("ignoreCase") in ("value", "all") else 0
        if not re.search(patrn, text, flags):
            yield ValidationError(f"{text!r} does not match {patrn!r}")

    def enum(_v, enums, instance, schema):
        if instance in enums:
            return
        text = _text(instance)
        if text is not None:
            fold = schema.get("ignoreCase") in ("value", "all")
            for e in enums:
                et = _text(e)
                if et is not None and (et == text or (fold and et.lower() == text.lower())):
                    return
        yield ValidationError(f"{instance!r} is not one of {enums!r}")

    base = dict(Draft7Validator.VALIDATORS, pattern=pattern, enum=enum)

    def wildcard(fn):
        def check(v, value, instance, schema):
            if isinstance(instance, Expr):
                return
            yield from fn(v, value, instance, schema) or ()

        return check

    patched = {name: wildcard(fn) for name, fn in base.items()}
    cls = validators.extend(Draft7Validator, validators=patched, type_checker=checker)
    return cls(schema), schema, tasks


def _branch_irrelevant(errs: list) -> bool:
    """A branch of anyOf that failed on its discriminator (its key missing, the wrong
    task name, the wrong kind of value) says nothing about what the author meant."""
    for e in errs:
        rel = list(e.relative_path)
        if not rel and e.validator in ("required", "type", "pattern", "enum"):
            return True
        if rel == ["task"] and e.validator in ("pattern", "enum", "anyOf"):
            return True
    return False


def _leaves(err) -> list:
    """The deepest errors under ``err``: through anyOf/oneOf, follow the branch the author
    meant (the relevant one that got deepest) and report each of its errors."""
    if not err.context:
        return [err]
    branches: dict[Any, list] = defaultdict(list)
    for sub in err.context:
        branches[sub.relative_schema_path[0] if sub.relative_schema_path else 0].append(sub)
    scored = []
    for errs in branches.values():
        if _branch_irrelevant(errs):
            continue
        leaves = [leaf for e in errs for leaf in _leaves(e)]
        scored.append((max(len(leaf.absolute_path) for leaf in leaves), -len(leaves), leaves))
    if not scored:
        return [err]
    return max(scored, key=lambda t: t[:2])[2]


def _message(err) -> tuple[str, tuple]:
    path = tuple(err.absolute_path)
    v = err.validator
    if v == "additionalProperties":
        allowed = set(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in allowed] if isinstance(err.instance, dict) else []
        if extra:
            return f"unexpected key {extra[0]!r}", path + (extra[0],)
    if v == "required":
        return err.message.replace(" is a required property", " is missing"), path
    if v == "type":
        kind = {dict: "a mapping", list: "a list"}.get(type(err.instance), "a value")
        return f"expected {err.validator_value}, got {kind}", path
    if v == "enum":
        vals = [str(x) for x in err.validator_value]
        more = ", ..." if len(vals) > 8 else ""
        return f"{_text(err.instance)!r} is not one of {', '.join(vals[:8])}{more}", path
    if v in ("anyOf", "oneOf"):
        return "not valid here (none of the allowed forms matches)", path
    return err.message if len(err.message) < 200 else err.message[:200] + "...", path


def schema_findings(doc: Doc) -> list[Finding]:
    """Validate one file; a template is wrapped into a pipeline (its parameters checked
    against the template-parameters definition)."""
    if not isinstance(doc.data, dict):
        return [Finding(doc.path, 1, "PL100", "the top level must be a mapping")]
    val, schema, tasks = validator()
    origins: dict = {}
    instance = rules.resolve(doc.data, Loc(doc.path, doc.lines, ()), None, origins, wildcard=True)
    out = []
    errors = []
    if rules.is_template(doc) and "parameters" in instance:
        params = instance.pop("parameters")
        sub = val.evolve(schema={"$ref": "#/definitions/templateParameters", "definitions": schema["definitions"]})
        for e in sub.iter_errors(params):
            e.path.appendleft("parameters")
            errors.append(e)
    errors.extend(val.iter_errors(instance))
    for err in errors:
        for best in _leaves(err):
            message, path = _message(best)
            loc = rules.origin(origins, path)
            where = dotted(loc.path) if loc.path else "(top level)"
            out.append(Finding(doc.path, loc.line, "PL100", f"{where}: {message}"))
    return out + pipeline_tasks.task_findings(instance, origins, doc.path, tasks, val)


# ----------------------------------------------------------------------------- validate


@dataclass
class Settings:
    skip_marker: str = "[skip ci]"
    auto_paths: list[str] = field(default_factory=list)


def settings_from_config(config) -> Settings:
    if config is None:
        return Settings()
    paths = []
    notebook = config.monitoring.retrain_notebook
    if notebook:
        paths.append(notebook)
        stem = Path(notebook)
        paths.append(str(stem.with_name(stem.stem + ".provenance.json")))
    return Settings(config.scm.skip_marker, paths)


def validate(paths: list[str], *, check_command: CommandCheck, settings: Settings | None = None,
             root: Path | None = None) -> ValidateResult:
    """Check the pipeline files under ``paths`` (default: azure-pipelines/); ``check_command(args)``
    says what is wrong with one ``mlops ARGS`` command line as (code, message) pairs."""
    settings = settings or Settings()
    files = discover(paths, root)
    loader = Loader(repo_root(files[0].parent if files else Path.cwd()))
    docs: list[Doc] = []
    unreadable: list[Finding] = []
    for f in files:
        try:
            docs.append(loader.load(f))
        except InputError as exc:
            unreadable.append(Finding(shown(f), exc.line, "PL000", exc.message))
    findings: list[Finding] = []
    for doc in docs:
        findings.extend(schema_findings(doc))
    pipelines = [d for d in docs if isinstance(d.data, dict) and not rules.is_template(d)]
    expanded = []
    used: set[str] = set()

    def load_template(including: str, ref: str) -> Doc | None:
        return loader.template(including, ref)

    for doc in pipelines:
        exp = rules.expand(doc, load_template)
        used |= exp.templates
        expanded.append(exp)
    for doc in docs:
        if isinstance(doc.data, dict) and rules.is_template(doc) and doc.path not in used:
            expanded.append(rules.expand(doc, load_template))
    findings.extend(
        rules.check_all(
            expanded,
            pipelines={d.path for d in pipelines},
            check_command=check_command,
            skip_marker=settings.skip_marker,
            auto_paths=settings.auto_paths,
        )
    )
    findings = sorted(set(findings), key=lambda f: (f.path, f.line or 0, f.code, f.message))
    return ValidateResult([shown(f) for f in files], findings, unreadable)
