"""`mlops lifecycle` outside a git repository (the full run is in test_init_project_e2e.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devops_mlops.testing import project as sandbox

MLOPS = str(Path(sys.executable).with_name("mlops"))


# The whole lifecycle end to end runs once, in a project made by `mlops init`:
# tests/ops/test_init_project_e2e.py.


def test_outside_a_git_repository_it_says_what_to_do(tmp_path):
    folder = sandbox.make_project(tmp_path / "proj", git=False)
    done = subprocess.run([MLOPS, "lifecycle"], cwd=folder, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "not a git repository" in done.stderr and "git init" in done.stderr
    assert "Traceback" not in done.stderr
