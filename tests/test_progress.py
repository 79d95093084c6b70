"""Progress in its three modes: a bar on a terminal, periodic lines in a pipeline, nothing in JSON."""

import io
import json
import os
import select
import subprocess
import sys

import pytest

from devops_mlops.console import mask
from devops_mlops.progress import Progress, mode_for
from devops_mlops.testing.databricks_emulator import sample_project


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.fast
def test_mode_follows_format_pipeline_and_terminal():
    assert mode_for(False, False, _Terminal()) == "bar"
    assert mode_for(False, False, io.StringIO()) == "off"
    assert mode_for(True, False, _Terminal()) == "off"
    assert mode_for(False, True, _Terminal()) == "lines"
    assert mode_for(True, True, io.StringIO()) == "off"


@pytest.mark.fast
def test_every_line_and_note_goes_through_the_mask():
    out = io.StringIO()
    with Progress(2, "upload s3cr3t", "lines", mask=lambda text: text.replace("s3cr3t", "***"), stream=out) as p:
        p.note("token s3cr3t sent")
        p.step(2)
    assert "s3cr3t" not in out.getvalue()
    assert out.getvalue().splitlines()[:1] == ["token *** sent"]


@pytest.mark.fast
def test_lines_at_each_tenth_and_a_last_one_with_the_time():
    out = io.StringIO()
    with Progress(200, "sync", "lines", mask=mask, stream=out, every=3600) as p:
        for _ in range(200):
            p.step()
        p.step()  # past the end: no second last line
    lines = out.getvalue().splitlines()
    assert lines[0] == "sync: 20/200 (10%)" and lines[8] == "sync: 180/200 (90%)"
    assert len(lines) == 10 and lines[-1].startswith("sync: 200/200 (100%) in ")


@pytest.mark.fast
def test_lines_also_come_with_time_when_the_work_is_slow():
    out = io.StringIO()
    p = Progress(1000, "deploy", "lines", mask=mask, stream=out, every=0)
    for _ in range(3):
        p.step()
    assert out.getvalue().splitlines() == ["deploy: 1/1000 (0%)", "deploy: 2/1000 (0%)", "deploy: 3/1000 (0%)"]


@pytest.mark.fast
def test_bar_redraws_in_place_and_notes_keep_it():
    out = _Terminal()
    with Progress(4, "test", "bar", mask=mask, stream=out) as p:
        p.step()
        p.note("PASSED notebooks/a.py")
        p.step(3)
    text = out.getvalue()
    assert "\r" in text and "4/4" in text and "PASSED notebooks/a.py\n" in text and text.endswith("\n")


@pytest.mark.fast
def test_off_and_empty_work_print_nothing():
    out = _Terminal()
    with Progress(0, "sync", "bar", mask=mask, stream=out) as p:
        p.step()
    with Progress(5, "sync", "off", mask=mask, stream=out) as p:
        p.step(5)
    assert out.getvalue() == ""


def _mlops(args, cwd, env, stderr):
    full = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", ""), **env}
    return subprocess.Popen([sys.executable, "-m", "devops_mlops", *args], cwd=cwd, env=full,
                            stdout=subprocess.PIPE, stderr=stderr)


@pytest.mark.parametrize("mode", ["terminal", "pipeline", "json"])
def test_sync_of_many_notebooks_in_each_mode(tmp_path, mode):
    sample_project(tmp_path, notebooks=60, folders=3)
    if mode == "terminal":  # stderr is a real pseudo-terminal
        master, slave = os.openpty()
        proc = _mlops(["sync"], tmp_path, {}, slave)
        os.close(slave)
        chunks = []
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                break
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed its side
                break
            if not data:
                break
            chunks.append(data)
        os.close(master)
        out, _ = proc.communicate(timeout=60)
        err = b"".join(chunks).decode()
        assert proc.returncode == 0, err
        assert "\r" in err and "sync" in err and "60/60" in err
    else:
        env = {"TF_BUILD": "True"} if mode == "pipeline" else {}
        args = ["--format", "json", "sync"] if mode == "json" else ["sync"]
        proc = _mlops(args, tmp_path, env, subprocess.PIPE)
        out, err_b = proc.communicate(timeout=60)
        err = err_b.decode()
        assert proc.returncode == 0, err
        if mode == "pipeline":
            lines = [line for line in err.splitlines() if line.startswith("sync: ")]
            assert lines[0] == "sync: 6/60 (10%)" and lines[-1].startswith("sync: 60/60 (100%) in ")
            assert "\r" not in err
        else:
            assert err == ""
            assert json.loads(out)["counts"] == {"create": 60}
