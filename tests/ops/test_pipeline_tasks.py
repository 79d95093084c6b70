"""Task steps and path filters read as Azure DevOps reads them (ops/pipeline_tasks.py), through
`mlops pipelines validate`: pipelines the service runs pass, real mistakes are still caught."""

from __future__ import annotations

from pathlib import Path

import pytest

from devops_mlops.cli.command_lines import check_command
from devops_mlops.ops import pipelines as ops

pytestmark = pytest.mark.fast


def check(tmp_path: Path, text: str) -> list[tuple[str, int, str]]:
    path = tmp_path / "p.yml"
    path.write_text(text)
    result = ops.validate([str(path)], check_command=check_command)
    return [(f.code, f.line, f.severity) for f in result.findings]


ACCEPTED = """\
trigger:
  branches:
    include: [main]
  paths:
    include: [scoring_service/, /shared/lib/]
    exclude:
    - docs/
    - notebooks/retrain.py
pr:
  paths:
    include: [scoring_service/]
pool:
  vmImage: ubuntu-latest
steps:
- task: BuildADFTask@1
  displayName: an extension's task, by its name
  inputs:
    DataFactoryCodePath: $(Build.SourcesDirectory)/factory
    Action: Build
- task: contoso.terraform-tools.terraform-installer.TerraformInstaller@0
  inputs:
    terraformVersion: 1.7.5
- task: PublishBuildArtifacts@1
  inputs:
    pathtoPublish: $(Build.ArtifactStagingDirectory)
    artifactname: scorer
- task: Docker@2
  inputs:
    command: build
    dockerFile: service/Dockerfile
    containerRegistry: registry
    repository: scorer
- task: Docker@1
  inputs:
    command: Build an image
    imageName: scorer:$(Build.BuildId)
- task: HelmDeploy@0
  inputs:
    connectionType: Kubernetes Service Connection
    kubernetesServiceEndpoint: cluster
    namespace: scoring
    command: upgrade
    chartType: FilePath
    chartPath: charts/scorer
    releaseName: scorer
- task: cache@2
  inputs: {KEY: 'pip | requirements.txt', Path: .pip}
"""


def test_what_the_service_runs_passes_without_a_warning(tmp_path):
    assert check(tmp_path, ACCEPTED) == []


def test_a_misspelled_top_level_key_and_a_wrong_type_are_errors(tmp_path):
    text = ACCEPTED.replace("pool:", "pooll:").replace("  displayName: an extension's task, by its name\n",
                                                       "  timeoutInMinutes: [10]\n")
    got = check(tmp_path, text)
    assert ("PL100", 13, "error") in got  # 'pooll'
    assert ("PL100", 16, "error") in got  # timeoutInMinutes is a number
    assert all(sev == "error" for *_x, sev in got)


def test_an_unknown_key_of_a_task_step_is_still_an_error(tmp_path):
    got = check(tmp_path, "steps:\n- task: Docker@2\n  input:\n    command: build\n")
    assert [(c, s) for c, _l, s in got] == [("PL100", "error")]


def test_input_typos_and_values_outside_the_choices_are_warnings(tmp_path):
    text = ("steps:\n- task: PublishBuildArtifacts@1\n  inputs:\n    PathToPublsh: out\n"
            "    publishLocation: Somewhere\n- task: PublishTestResult@2\n  inputs: {testResultsFiles: x}\n"
            "- task: PublishBuildArtifacts@7\n")
    path = tmp_path / "p.yml"
    path.write_text(text)
    result = ops.validate([str(path)], check_command=check_command)
    got = {(f.code, f.line, f.severity) for f in result.findings}
    assert got == {("PL112", 4, "warning"), ("PL112", 5, "warning"), ("PL111", 6, "warning"),
                   ("PL111", 8, "warning")}
    messages = " | ".join(f.message for f in result.findings)
    assert "did you mean 'PathtoPublish'" in messages and "did you mean 'PublishTestResults'" in messages
    assert "PublishBuildArtifacts@1" in messages  # the version the schema knows
    assert result.ok  # warnings do not fail the run


def test_a_required_input_is_an_error_only_where_it_cannot_be_conditional(tmp_path):
    # Cache@2 has neither a picklist nor a switch: 'path' is always needed
    assert check(tmp_path, "steps:\n- task: Cache@2\n  inputs:\n    key: k\n") == [("PL113", 4, "error")]
    # HelmDeploy@0 with an Azure Resource Manager connection but no ACR inputs: the schema cannot say
    # which inputs that connection needs, so none is reported
    helm = ("steps:\n- task: HelmDeploy@0\n  inputs:\n    connectionType: Azure Resource Manager\n"
            "    command: ls\n")
    assert check(tmp_path, helm) == []


def test_expressions_and_variables_are_not_judged(tmp_path):
    text = ("parameters:\n- name: t\n  default: Docker@2\nsteps:\n- task: ${{ parameters.t }}\n"
            "- task: PublishBuildArtifacts@1\n  inputs:\n    publishLocation: $(where)\n")
    assert check(tmp_path, text) == []
