"""`mlops test` end to end: exit codes, JUnit, JSON, pipeline issues, Ctrl-C leaves no kernel behind."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import click
import psutil
from click.testing import CliRunner

from devops_mlops.cli import main

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "runtime"


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def main_wrapper(args):
    main(list(args))


def project(tmp_path, *names):
    nb = tmp_path / "notebooks"
    nb.mkdir()
    shutil.copytree(CORPUS / "lib", nb / "lib")
    for src, dst in names:
        shutil.copy(CORPUS / src, nb / dst)
    (tmp_path / "mlops.yaml").write_text("project: p\nmodel: {name: m}\n")
    return tmp_path


def run(args, cwd, monkeypatch, env=None):
    monkeypatch.chdir(cwd)
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    return CliRunner().invoke(main_wrapper, args, catch_exceptions=False)


def test_all_pass_exit_0_and_non_tests_are_not_run(tmp_path, monkeypatch):
    root = project(tmp_path, ("run_main.py", "test_run.py"), ("magics.py", "magics_test.py"),
                   ("fail_cell.py", "failing.py"))
    r = run(["test", "--jobs", "2"], root, monkeypatch)
    assert r.exit_code == 0, r.output
    assert "PASSED  notebooks/test_run.py" in r.output and "failing" not in r.output
    assert "skipped cell 3 (%sql, line 11): not run locally" in r.output
    assert "2 notebook(s): 2 passed" in r.output


def test_failures_exit_1_with_junit_json_and_pipeline_issues(tmp_path, monkeypatch):
    root = project(tmp_path, ("fail_cell.py", "test_fail.py"), ("test_functions.py", "test_functions.py"),
                   ("exit_early.py", "test_exit.py"))
    junit = tmp_path / "out" / "junit.xml"
    r = run(["--format", "json", "test", "--junit", str(junit)], root, monkeypatch, env={"TF_BUILD": "True"})
    assert r.exit_code == 1, r.output
    lines = r.output.splitlines()
    vso = [l for l in lines if l.startswith("##vso[task.logissue")]
    assert any("sourcepath=notebooks/test_fail.py;linenumber=8" in l and "ZeroDivisionError" in l for l in vso)
    assert any("test_fails failed" in l and "linenumber=15" in l for l in vso)
    doc = json.loads("\n".join(l for l in lines if not l.startswith("##vso")))
    assert (doc["passed"], doc["failed"]) == (1, 2)
    cases = ET.parse(junit).getroot().findall(".//testcase")
    names = [c.get("name") for c in cases]
    assert names == ["notebooks/test_exit.py", "notebooks/test_fail.py", "notebooks/test_functions.py",
                     "test_addition", "test_widget_default", "test_fails"]
    fail = cases[1].find("failure")
    assert fail.get("message") == "notebooks/test_fail.py:8 (cell 2): ZeroDivisionError: division by zero"
    assert "line 14, in <module> (cell 3)" in fail.text


def test_malformed_param_and_unreadable_notebook_exit_2(tmp_path, monkeypatch):
    root = project(tmp_path, ("malformed.ipynb", "test_bad.ipynb"), ("child.py", "test_child.py"))
    r = run(["test", "--param", "novalue"], root, monkeypatch)
    assert r.exit_code == 2 and "KEY=VALUE" in r.output
    r = run(["test", "--param", "x=4"], root, monkeypatch)
    assert r.exit_code == 2, r.output
    assert "ERROR   notebooks/test_bad.ipynb" in r.output and "PASSED  notebooks/test_child.py" in r.output
    assert "exit: 8" in r.output
    assert "Traceback" not in r.output


def test_timeout_option(tmp_path, monkeypatch):
    root = project(tmp_path, ("sleeper.py", "test_sleep.py"))
    r = run(["test", "--timeout", "3", "--param", f"pidfile={tmp_path / 'pids'}"], root, monkeypatch)
    assert r.exit_code == 1 and "TIMEOUT" in r.output and "timed out after 3s in cell 2" in r.output


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_ctrl_c_leaves_no_kernel_behind(tmp_path):
    root = project(tmp_path, ("sleeper.py", "test_sleep.py"))
    pidfile = tmp_path / "pids"
    mlops = Path(sys.executable).with_name("mlops")
    proc = subprocess.Popen([str(mlops), "test", "--param", f"pidfile={pidfile}"], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not pidfile.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert pidfile.exists(), proc.communicate()
        kernel, child = (int(p) for p in pidfile.read_text().split())
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    deadline = time.monotonic() + 10
    while not (_gone(kernel) and _gone(child)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(kernel) and _gone(child)
