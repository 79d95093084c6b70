"""`mlops pipelines validate --remote` over the in-memory preview: which files are sent, against
which pipeline, and how a rejection becomes a PL110 finding on its line (the adapter against the
emulator: test_pipelines.py and tests/contract/test_pipeline_preview_contract.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devops_mlops.errors import ServiceError
from devops_mlops.ops.pipeline_preview import preview_remote
from devops_mlops.testing.fakes.pipeline_preview import FakePipelinePreview

pytestmark = pytest.mark.fast

GOOD = "trigger: none\nsteps:\n- bash: echo hi\n"


@pytest.fixture
def files(tmp_path, monkeypatch) -> list[Path]:
    (tmp_path / ".git").mkdir()
    folder = tmp_path / "azure-pipelines"
    (folder / "templates").mkdir(parents=True)
    (folder / "pr.yml").write_text(GOOD)
    (folder / "release.yml").write_text(GOOD)
    (folder / "templates" / "steps.yml").write_text("parameters:\n- name: x\nsteps:\n- bash: echo\n")
    (folder / "broken.yml").write_text("steps: [\n")
    monkeypatch.chdir(tmp_path)
    return sorted(folder.rglob("*.yml"))


def test_each_pipeline_file_is_previewed_against_its_pipeline(files):
    fake = FakePipelinePreview({"azure-pipelines/pr.yml": 7})
    remote, findings = preview_remote(files, fake)
    assert findings == [] and remote["status"] == "ok" and remote["project"] == "ml"
    assert remote["pipelines"] == [
        {"file": "azure-pipelines/pr.yml", "pipeline": 7, "status": "ok", "final_yaml_lines": 3},
        {"file": "azure-pipelines/release.yml", "status": "skipped", "reason": "no pipeline in ml uses azure-pipelines/release.yml"},
    ]
    assert [pid for pid, _ in fake.previews] == [7]  # templates and unreadable files are not sent


def test_a_rejection_is_a_finding_on_its_line(files):
    Path("azure-pipelines/pr.yml").write_text("trigger: none\nsteps:\nbogus: 1\n")
    fake = FakePipelinePreview({"azure-pipelines/pr.yml": 7})
    remote, [finding] = preview_remote(files, fake)
    assert remote["status"] == "failed"
    assert (finding.path, finding.line, finding.column, finding.code) == ("azure-pipelines/pr.yml", 3, 1, "PL110")
    assert finding.message == "Azure DevOps preview: /azure-pipelines/pr.yml (Line: 3, Col: 1): Unexpected value 'bogus'"


def test_a_pipeline_id_previews_every_pipeline_file_against_it(files):
    fake = FakePipelinePreview({"azure-pipelines/pr.yml": 7, "azure-pipelines/release.yml": 8})
    remote, _ = preview_remote(files, fake, pipeline_id=8)
    assert [r["pipeline"] for r in remote["pipelines"]] == [8, 8] and len(fake.previews) == 2


def test_nothing_is_asked_without_credentials_and_a_wrong_token_is_an_error(files):
    remote, findings = preview_remote(files, FakePipelinePreview({}, token=None))
    assert remote == {"status": "skipped", "reason": "no token (SYSTEM_ACCESSTOKEN or AZURE_DEVOPS_EXT_PAT)"}
    assert findings == []
    rejected = FakePipelinePreview({"azure-pipelines/pr.yml": 7})
    rejected.token_rejected = True
    with pytest.raises(ServiceError, match="rejected the token"):
        preview_remote(files, rejected)
