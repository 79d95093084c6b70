"""Template expansion: a pipeline (or a template checked on its own) resolved, with the templates
it includes, into its jobs and their steps; parameter mismatches and missing templates become findings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from ...yamlload import Lines
from .expressions import is_expression, norm
from .findings import Finding, Loc
from .resolve import Params, origin, resolve


@dataclass
class Doc:
    """A YAML file as read: its path as findings show it, its data and its line map."""

    path: str  # as shown in findings
    data: Any
    lines: Lines


@dataclass
class Step:
    """A step of an expanded job, with the origins that map its keys to file lines."""

    data: dict
    origins: dict
    at: tuple  # the step's own path in origins

    def loc(self, *keys: Any) -> Loc:
        """Where the value under ``keys`` of this step was written."""
        return origin(self.origins, self.at + keys)


@dataclass
class Job:
    """A job (or a deployment job's hooks, or a steps-only pipeline) with its expanded steps."""

    data: dict
    loc: Loc
    steps: list[Step]

    @property
    def checkout(self) -> dict | None:
        """The job's ``checkout`` step, if it has one."""
        return next((s.data for s in self.steps if "checkout" in s.data), None)


@dataclass
class Expanded:
    """A pipeline or template after expansion: its resolved data, jobs, the templates it used, its findings."""

    doc: Doc
    data: dict
    jobs: list[Job]
    templates: set[str]
    findings: list[Finding]
    origins: dict = field(default_factory=dict)


Loader = Callable[[str, str], "Doc | None"]  # (including file, template reference) -> Doc, None if missing


def template_params(doc: Doc, passed: dict, passed_loc: Loc | None, ref_loc: Loc, findings: list[Finding]) -> Params:
    """The parameters a template sees: its declared defaults overridden by the values passed to it;
    a missing required parameter, an unknown one or a value outside ``values:`` is a PL109 finding."""
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
                        and norm(given) not in {norm(a) for a in allowed}:
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
    """Declares parameters and none of the keys only a pipeline has."""
    return isinstance(data, dict) and "parameters" in data and not (PIPELINE_KEYS & set(data))


def is_template(doc: Doc) -> bool:
    """Whether a file is a template (parameters, or a templates/ folder) rather than a pipeline."""
    if not isinstance(doc.data, dict) or PIPELINE_KEYS & set(doc.data):
        return False
    return "parameters" in doc.data or "templates" in PurePosixPath(doc.path.replace("\\", "/")).parts

