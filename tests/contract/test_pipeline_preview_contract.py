"""The pipeline preview port's contract (ports/pipeline_preview.py), run over the REST adapter against
the Azure DevOps emulator and over the in-memory fake (testing/fakes/pipeline_preview.py). Each
harness knows two YAML pipelines, pr.yml and release.yml, and makes ``preview(token=...)``."""

from __future__ import annotations

import pytest

from devops_mlops.errors import ServiceError
from devops_mlops.testing.fakes.pipeline_preview import FakePipelinePreview

PAT = "preview-contract-pat"
GOOD = "trigger: none\nsteps:\n- bash: echo hi\n"


class EmulatorHarness:
    def __init__(self) -> None:
        from devops_mlops.testing.azure_devops import AzureDevOpsEmulator

        self.emu = AzureDevOpsEmulator(token=PAT).start()
        self.emu.add_project("ml")
        self.ids = {p: self.emu.add_yaml_pipeline("ml", p.split("/")[-1], p)["id"]
                    for p in ("azure-pipelines/pr.yml", "azure-pipelines/release.yml")}

    def preview(self, token: str | None = PAT, project: str | None = "ml"):
        from devops_mlops.adapters.azure.pipeline_preview import from_config

        env = {"SYSTEM_COLLECTIONURI": self.emu.org_url + "/", **({"SYSTEM_TEAMPROJECT": project} if project else {}),
               **({"AZURE_DEVOPS_EXT_PAT": token} if token else {})}
        return from_config(None, env)

    def close(self) -> None:
        self.emu.stop()


class FakeHarness:
    def __init__(self) -> None:
        self.ids = {"azure-pipelines/pr.yml": 1, "azure-pipelines/release.yml": 2}

    def preview(self, token: str | None = PAT, project: str | None = "ml"):
        fake = FakePipelinePreview(self.ids, project=project, token=token)
        fake.token_rejected = token not in (None, PAT)
        return fake


@pytest.fixture(params=["emulator", pytest.param("fake", marks=pytest.mark.fast)])
def harness(request):
    h = EmulatorHarness() if request.param == "emulator" else FakeHarness()
    yield h
    getattr(h, "close", lambda: None)()


def test_pipelines_by_their_yaml_file(harness):
    preview = harness.preview()
    assert preview.missing() == []
    assert preview.pipelines() == harness.ids
    assert preview.project == "ml" and preview.organization_url


def test_a_good_pipeline_compiles(harness):
    answer = harness.preview().preview(harness.ids["azure-pipelines/pr.yml"], GOOD)
    assert answer.ok and "bash: echo hi" in answer.final_yaml and answer.message == ""


def test_a_rejected_pipeline_names_the_line(harness):
    answer = harness.preview().preview(harness.ids["azure-pipelines/pr.yml"], "trigger: none\nsteps:\nbogus: 1\n")
    assert not answer.ok and "(Line: 3, Col: 1)" in answer.message and "bogus" in answer.message
    broken = harness.preview().preview(harness.ids["azure-pipelines/pr.yml"], "steps: [\n")
    assert not broken.ok and "(Line: " in broken.message


def test_what_is_missing_is_said_before_asking(harness):
    preview = harness.preview(token=None, project=None)
    missing = preview.missing()
    assert len(missing) == 2 and missing[0].startswith("token") and missing[1].startswith("project")


def test_a_wrong_token_is_refused(harness):
    with pytest.raises(ServiceError, match="rejected the token"):
        harness.preview(token="wrong").pipelines()
