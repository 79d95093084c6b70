from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "adf" / "project"


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the fixture project (mlops.yaml, notebooks/, resources/)."""
    dest = tmp_path / "project"
    shutil.copytree(FIXTURE, dest)
    return dest


@pytest.fixture
def edit_config():
    """edit_config(project, old, new): replace text in the project's mlops.yaml."""

    def edit(project: Path, old: str, new: str) -> None:
        path = project / "mlops.yaml"
        text = path.read_text()
        assert old in text, old
        path.write_text(text.replace(old, new, 1))

    return edit
