"""ops.test: discovery, --param parsing, JUnit shape, and the Databricks path through ctx.jobs + emulator."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from devops_mlops.config import load_config
from devops_mlops.context import Context
from devops_mlops.core.junit import to_xml
from devops_mlops.errors import InputError, UsageError
from devops_mlops.ops.test import TestReport, discover, junit_suites, parse_params, run_tests, submit_task
from devops_mlops.kernel.runner import NotebookResult, TestResult
from devops_mlops.testing.databricks_emulator import DatabricksEmulator, sample_project

OK = "# Databricks notebook source\nx = 1\n"


def test_parse_params():
    assert parse_params(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    for bad in (["novalue"], ["=v"]):
        with pytest.raises(UsageError):
            parse_params(bad)


def test_discover_patterns_and_explicit_files(tmp_path):
    nb = tmp_path / "notebooks"
    (nb / "sub").mkdir(parents=True)
    for name in ("test_a.py", "b_test.ipynb", "train.py", "sub/test_c.sql", "helpers.py"):
        (nb / name).write_text(OK)
    found = [p.relative_to(nb).as_posix() for p in discover([], nb, ["test_*", "*_test"])]
    assert found == ["b_test.ipynb", "sub/test_c.sql", "test_a.py"]
    assert discover([nb / "train.py"], nb, ["test_*"]) == [nb / "train.py"]  # explicit files run whatever their name
    with pytest.raises(InputError):
        discover([nb / "nope.py"], nb, ["test_*"])


def test_junit_has_a_case_per_notebook_and_per_test_function():
    report = TestReport(target="local", backend="local", results=[
        NotebookResult(path="notebooks/test_a.py", status="passed", duration=1.0,
                       tests=[TestResult("test_one", "passed"), TestResult("test_two", "failed", line=7,
                                                                          error="AssertionError: no", traceback="tb")]),
        NotebookResult(path="notebooks/test_b.py", status="failed", error="ZeroDivisionError: division by zero",
                       cell=3, line=12, traceback="Traceback ...", error_path="notebooks/test_b.py"),
        NotebookResult(path="notebooks/bad.ipynb", status="error", error="invalid JSON"),
    ])
    report.results[0].status = "failed"  # a test function failed
    root = ET.fromstring(to_xml(junit_suites(report)))
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["notebooks/test_a.py", "test_one", "test_two", "notebooks/test_b.py",
                                              "notebooks/bad.ipynb"]
    assert cases[0].find("failure") is None  # its cells passed; test_two carries the failure
    assert "test_a.py:7" in cases[2].find("failure").get("message")
    assert cases[3].find("failure").get("message") == \
        "notebooks/test_b.py:12 (cell 3): ZeroDivisionError: division by zero"
    assert cases[4].find("error") is not None
    assert root.get("tests") == "5" and root.get("failures") == "2" and root.get("errors") == "1"


def test_submit_task_uses_the_target_compute():
    assert submit_task("/W/x", {"a": "1"}, {"existing_cluster_id": "c-1"}, 60) == {
        "task_key": "test", "existing_cluster_id": "c-1", "timeout_seconds": 60,
        "notebook_task": {"notebook_path": "/W/x", "source": "WORKSPACE", "base_parameters": {"a": "1"}}}
    assert submit_task("/W/x", None, {"new_cluster": {"num_workers": 1}}, None)["new_cluster"] == {"num_workers": 1}
    assert "existing_cluster_id" not in submit_task("/W/x", None, {"serverless": True}, None)


@pytest.fixture
def emu(monkeypatch):
    with DatabricksEmulator(token="dapi-test", run_steps=1) as e:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test")
        yield e


def _dev_ctx(tmp_path, emu):
    cfg = load_config(sample_project(tmp_path, host=emu.url, notebooks=3))
    nb = tmp_path / "notebooks"
    (nb / "test_ok.py").write_text(OK)
    (nb / "test_bad.py").write_text(OK)
    (nb / "test_broken.ipynb").write_text("{not json")
    return Context(cfg, cfg.target("dev"))


def test_databricks_target_submits_one_run_per_notebook_and_reports_errors(tmp_path, emu):
    ctx = _dev_ctx(tmp_path, emu)
    emu.set_outcome("/Shared/demo/test_bad", "FAILED", error="AssertionError: rows == 0",
                    error_trace="Traceback...\nAssertionError: rows == 0")
    emu.set_outcome("/Shared/demo/test_ok", "SUCCESS", output="done")
    report = run_tests(ctx, [], params={"env": "ci"}, timeout=60, poll_seconds=0.01)
    by = {Path(r.path).name: r for r in report.results}
    assert set(by) == {"test_ok.py", "test_bad.py", "test_broken.ipynb"}
    assert by["test_ok.py"].status == "passed" and by["test_ok.py"].exit_value == "done"
    bad = by["test_bad.py"]
    assert bad.status == "failed" and bad.error == "AssertionError: rows == 0" and "Traceback" in bad.traceback
    assert by["test_broken.ipynb"].status == "error"
    submitted = [r for r in emu.runs.values()]
    assert len(submitted) == 2
    task = submitted[0].tasks[0]
    assert task["notebook_task"]["base_parameters"] == {"env": "ci"}
    assert {r.tasks[0]["notebook_task"]["notebook_path"] for r in submitted} == {"/Shared/demo/test_ok",
                                                                                 "/Shared/demo/test_bad"}
    assert all(r.polls >= 2 for r in submitted)  # polled until terminated
    xml = to_xml(junit_suites(report))
    assert "AssertionError: rows == 0" in xml


def test_databricks_run_over_the_timeout_is_cancelled(tmp_path, monkeypatch):
    with DatabricksEmulator(token="dapi-test", run_steps=0) as emu:
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test")
        ctx = _dev_ctx(tmp_path, emu)
        emu.run_steps = 0
        # runs never advance when run_steps is 0 and nothing finishes them: force a long run
        emu._advance = lambda run, steps: None  # the emulator's clock stands still
        report = run_tests(ctx, [tmp_path / "notebooks" / "test_ok.py"], timeout=0.2, poll_seconds=0.05)
        r = report.results[0]
        assert r.status == "timeout" and "cancelled" in r.error
        assert any(run.canceled for run in emu.runs.values())
