"""A small, generic JUnit XML writer (the shape Azure Pipelines' PublishTestResults reads).

Used by ``mlops test`` (a testcase per notebook and per ``test_*`` function) and
``mlops lint`` (a testcase per file or finding)::

    suite = Suite("mlops test")
    suite.cases.append(Case("notebooks/test_x.py", classname="notebooks", time=1.2))
    suite.cases.append(Case("test_y", failure=Failure("boom", "Traceback ...")))
    to_xml([suite], name="mlops test")  # devops_mlops.files.junit.write_junit puts it on disk

Plain data in, XML out; no I/O.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

# XML 1.0 forbids most control characters; tracebacks carry ANSI escapes
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def clean_text(text: str | None) -> str:
    """Text safe inside XML: no ANSI colour codes, no forbidden control characters."""
    if not text:
        return ""
    return _INVALID_XML.sub("", _ANSI.sub("", text))


@dataclass
class Failure:
    message: str
    text: str = ""
    #: "failure" (an assertion/check failed) or "error" (could not run)
    kind: str = "failure"
    type: str | None = None


@dataclass
class Case:
    name: str
    classname: str = ""
    time: float = 0.0
    failure: Failure | None = None
    skipped: str | None = None
    file: str | None = None
    line: int | None = None
    stdout: str | None = None


@dataclass
class Suite:
    name: str
    cases: list[Case] = field(default_factory=list)
    time: float | None = None
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def failures(self) -> int:
        return sum(1 for c in self.cases if c.failure and c.failure.kind == "failure")

    @property
    def errors(self) -> int:
        return sum(1 for c in self.cases if c.failure and c.failure.kind == "error")

    @property
    def skipped(self) -> int:
        return sum(1 for c in self.cases if c.skipped is not None and not c.failure)


def to_element(suites: list[Suite], name: str = "mlops") -> ET.Element:
    root = ET.Element("testsuites", name=name)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    for suite in suites:
        stime = suite.time if suite.time is not None else sum(c.time for c in suite.cases)
        el = ET.SubElement(
            root,
            "testsuite",
            name=clean_text(suite.name),
            tests=str(len(suite.cases)),
            failures=str(suite.failures),
            errors=str(suite.errors),
            skipped=str(suite.skipped),
            time=f"{stime:.3f}",
        )
        if suite.properties:
            props = ET.SubElement(el, "properties")
            for k, v in suite.properties.items():
                ET.SubElement(props, "property", name=clean_text(k), value=clean_text(str(v)))
        for case in suite.cases:
            attrs = {"name": clean_text(case.name), "classname": clean_text(case.classname), "time": f"{case.time:.3f}"}
            if case.file:
                attrs["file"] = clean_text(case.file)
            if case.line:
                attrs["line"] = str(case.line)
            cel = ET.SubElement(el, "testcase", attrs)
            if case.failure:
                f = case.failure
                fattrs = {"message": clean_text(f.message)}
                if f.type:
                    fattrs["type"] = clean_text(f.type)
                fel = ET.SubElement(cel, "error" if f.kind == "error" else "failure", fattrs)
                fel.text = clean_text(f.text or f.message)
            elif case.skipped is not None:
                ET.SubElement(cel, "skipped", message=clean_text(case.skipped))
            if case.stdout:
                ET.SubElement(cel, "system-out").text = clean_text(case.stdout)
        totals["tests"] += len(suite.cases)
        totals["failures"] += suite.failures
        totals["errors"] += suite.errors
        totals["skipped"] += suite.skipped
        totals["time"] += stime
    for k, v in totals.items():
        root.set(k, f"{v:.3f}" if k == "time" else str(v))
    return root


def to_xml(suites: list[Suite], name: str = "mlops") -> str:
    root = to_element(suites, name)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
