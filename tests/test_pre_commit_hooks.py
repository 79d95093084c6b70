"""The repository's .pre-commit-hooks.yaml, run by the real pre-commit on a temporary git repository.

pre-commit clones the hook repository at the configured `rev` and reads the manifest from it, as it
does for any user. The one departure: the config sets `language: unsupported` (run the entry from
PATH) instead of the manifest's `language: python`, which would build a virtualenv and install
devops-mlops with all its dependencies from the package index: minutes, and a network the tests
must not reach. The hook ids, entries, arguments and file types all come from the manifest.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_manifest_is_valid_for_pre_commit():
    from pre_commit.clientlib import load_manifest

    hooks = {h["id"]: h for h in load_manifest(str(MANIFEST))}
    assert set(hooks) == {"mlops-lint", "mlops-strip-outputs"}
    assert hooks["mlops-strip-outputs"]["entry"] == "mlops lint --fix --select MLO101,MLO102"
    assert hooks["mlops-strip-outputs"]["types"] == ["jupyter"]


@pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is in the test extra")
def test_hooks_run_by_pre_commit_on_a_repository(tmp_path):
    hooks_repo = tmp_path / "hooks"
    hooks_repo.mkdir()
    shutil.copy(MANIFEST, hooks_repo / ".pre-commit-hooks.yaml")
    git(hooks_repo, "init", "-q", "-b", "main")
    git(hooks_repo, "add", ".")
    git(hooks_repo, "commit", "-q", "-m", "hooks")
    rev = git(hooks_repo, "rev-parse", "HEAD")

    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    git(project, "init", "-q", "-b", "main")
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks_repo}\n    rev: {rev}\n    hooks:\n"
        "      - id: mlops-strip-outputs\n        language: unsupported\n"
        "      - id: mlops-lint\n        language: unsupported\n")
    notebook = {"cells": [{"cell_type": "code", "execution_count": 3, "id": "a", "metadata": {},
                           "outputs": [{"output_type": "stream", "name": "stdout", "text": ["2\n"]}],
                           "source": ["print(1 + 1)\n"]}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    nb = project / "notebooks" / "explore.ipynb"
    nb.write_text(json.dumps(notebook, indent=1) + "\n")
    src = project / "notebooks" / "prep.py"
    src.write_text("# Databricks notebook source\nimport os\nprint('prep')\n")
    git(project, "add", ".")

    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    subprocess.run([PRE_COMMIT, "install"], cwd=project, env=env, check=True, capture_output=True, timeout=60)

    # a commit is refused: outputs stripped (the file changed), the unused import reported
    first = subprocess.run(["git", "commit", "-m", "add notebooks"], cwd=project, env=env, capture_output=True,
                           text=True, timeout=120)
    out = first.stdout + first.stderr
    assert first.returncode != 0, out
    assert "strip notebook outputs" in out and "files were modified by this hook" in out
    stripped = json.loads(nb.read_text())["cells"][0]
    assert stripped["outputs"] == [] and stripped["execution_count"] is None
    assert "notebooks/prep.py:2:8: F401" in out
    assert git(project, "rev-list", "--all") == ""  # nothing committed

    # fixed and staged: the commit goes through the same hooks
    src.write_text("# Databricks notebook source\nprint('prep')\n")
    git(project, "add", ".")
    second = subprocess.run(["git", "commit", "-m", "add notebooks"], cwd=project, env=env, capture_output=True,
                            text=True, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    hooks_out = second.stdout + second.stderr  # pre-commit prints to the hook's stderr
    assert "strip notebook outputs" in hooks_out and "mlops lint" in hooks_out and "Failed" not in hooks_out
    assert git(project, "log", "--format=%s") == "add notebooks"
