"""No kernels: %run expansion (plan) and the generic JUnit writer."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from devops_mlops.core.junit import Case, Failure, Suite, to_xml
from devops_mlops.errors import InputError
from devops_mlops.files.junit import write_junit
from devops_mlops.kernel.plan import PlanError, expand, parse_run_args

pytestmark = pytest.mark.fast

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "runtime"


def test_run_is_inlined_with_file_lines():
    plan = expand(CORPUS / "run_main.py")
    kinds = [(u.kind, Path(u.path).name, u.cell) for u in plan.units]
    assert kinds == [("code", "helpers.py", 1), ("code", "helpers.py", 2), ("push", "run_main.py", 2),
                     ("code", "greet.ipynb", 1), ("pop", "run_main.py", 2), ("code", "run_main.py", 3)]
    assert plan.units[0].line_map == [2, 3]
    assert [p.name for p in plan.files] == ["run_main.py", "helpers.py", "greet.ipynb"]


def test_cycle_and_missing():
    with pytest.raises(PlanError, match="cycle: run_cycle_a.py -> run_cycle_b.py -> run_cycle_a.py"):
        expand(CORPUS / "run_cycle_a.py")
    with pytest.raises(PlanError, match="not found") as info:
        expand(CORPUS / "run_missing.py")
    assert (info.value.cell, info.value.line) == (2, 6)
    with pytest.raises(InputError):
        expand(CORPUS / "malformed.ipynb")


def test_parameters_tag_and_skips():
    plan = expand(CORPUS / "params.ipynb")
    assert [u.kind for u in plan.units] == ["code", "params", "code"]
    magics = expand(CORPUS / "magics.py")
    assert [s.language for s in magics.skipped] == ["pip", "sql", "sh", "scala"]
    assert magics.units[0].source == "ran_python_magic = True" and magics.units[0].line_map == [27]


def test_parse_run_args():
    assert parse_run_args('./x $a="b c" $d=e') == {"a": "b c", "d": "e"}


def test_junit_is_clean_xml(tmp_path):
    suite = Suite("s", cases=[Case("ok", time=0.5),
                              Case("bad", failure=Failure("boom \x1b[31mred\x1b[0m", "trace\x00 text")),
                              Case("err", failure=Failure("cannot", kind="error")), Case("skip", skipped="n/a")])
    out = write_junit(tmp_path / "sub" / "j.xml", [suite], name="x")
    root = ET.parse(out).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("4", "1", "1", "1")
    bad = root.find(".//testcase[@name='bad']/failure")
    assert bad.get("message") == "boom red" and bad.text == "trace text"
    assert "\x1b" not in to_xml([suite])
    assert not list(tmp_path.glob("sub/.*tmp"))
