"""Our rules over expanded pipelines: mlops command lines (PL106/PL107 through a callback), JUnit
results published (PL103), schedule-only pipelines (PL104), pushes back to the repository guarded against
a CI loop (PL105); and :func:`check_all`, which runs every rule over a set of pipelines and templates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fnmatch import fnmatch

from .expansion import Expanded, Job, Step
from .expressions import truthy
from .findings import Finding
from .resolve import origin
from .scripts import body_line, mlops_commands, script_bodies, subcommand
from .secrets import check_secrets, check_variables

SKIP_MARKERS = ("[skip ci]", "[ci skip]", "skip-checks: true", "skip-checks:true", "[skip azurepipelines]",
                "[azurepipelines skip]", "[skip azpipelines]", "[azpipelines skip]", "[skip azp]", "[azp skip]",
                "***no_ci***")
PUSH_COMMANDS = {"commit", "monitor", "lifecycle"}

#: checks the arguments of one mlops command line: (code, message) for each problem
CommandCheck = Callable[[list[str]], "list[tuple[str, str]]"]


def check_commands(step: Step, check_command: CommandCheck) -> list[Finding]:
    """The problems ``check_command`` finds in each mlops command line of the step, at its line."""
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
    """PL103: a step writing JUnit results needs a later PublishTestResults step that runs on failure too."""
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
    """Whether the step pushes to the repository (git push, or an mlops command that commits and pushes)."""
    for text, _loc in script_bodies(step):
        if re.search(r"\bgit\s+(-c\s+\S+\s+)*push\b", text):
            return True
        for _index, args in mlops_commands(text):
            name, dry = subcommand(args)
            if name in PUSH_COMMANDS and not dry and "--no-push" not in args:
                return True
    return False


def _trigger_excludes(data: dict) -> list[str] | None:
    """The ``trigger: paths: exclude:`` list of a pipeline, None when it has none."""
    trig = data.get("trigger")
    if isinstance(trig, dict) and isinstance(trig.get("paths"), dict):
        ex = trig["paths"].get("exclude")
        if isinstance(ex, list):
            return [str(x) for x in ex]
    return None


def _covered(path: str, patterns: list[str]) -> bool:
    """Whether a path is excluded by one of the trigger's path patterns."""
    path = path.strip("/")
    for p in patterns:
        p = p.strip("/")
        if path == p or path.startswith(p + "/") or fnmatch(path, p):
            return True
    return False


def check_push(exp: Expanded, job: Job, step: Step, skip_marker: str) -> list[Finding]:
    """PL105 for a pushing step: its commits need a skip marker, it needs credentials, and its own
    pipeline's trigger must not fire on the push."""
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
    if not truthy(checkout.get("persistCredentials", False)) and "SYSTEM_ACCESSTOKEN" not in env:
        out.append(loc.finding("PL105", "this step pushes to the repository without credentials: map "
                                        "SYSTEM_ACCESSTOKEN: $(System.AccessToken) through env: or check out with "
                                        "persistCredentials: true"))
    if exp.data.get("trigger") != "none" and not _trigger_excludes(exp.data):
        out.append(loc.finding("PL105", "this pipeline pushes to the repository and its own CI trigger has no "
                                        "paths: exclude: of the committed paths (or trigger: none)"))
    return out


def check_schedule(exp: Expanded) -> list[Finding]:
    """PL104: a scheduled pipeline runs only on its schedule (trigger: none, pr: none) and always runs."""
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
            if isinstance(sched, dict) and not truthy(sched.get("always", False)):
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
