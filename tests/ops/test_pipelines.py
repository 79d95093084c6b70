"""`mlops pipelines validate` use case: the patched schema, the shipped pipelines, command
lines against the real CLI, and the preview API through the Azure DevOps emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from devops_mlops.adapters.azure.pipeline_preview import from_config
from devops_mlops.cli import COMMANDS
from devops_mlops.cli.command_lines import check_command
from devops_mlops.ops import pipelines as ops
from devops_mlops.ops.pipeline_preview import preview_remote
from devops_mlops.testing.azure_devops import AzureDevOpsEmulator

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "corpus" / "pipelines"
EXAMPLE = REPO / "examples" / "toll-demand"


def validate(paths: list[str], **kwargs):
    return ops.validate(paths, check_command=check_command, **kwargs)


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def test_shipped_pipelines_pass(monkeypatch):
    monkeypatch.chdir(EXAMPLE)
    from devops_mlops.config import load_config

    result = validate([], settings=ops.settings_from_config(load_config(EXAMPLE / "mlops.yaml")))
    assert {"azure-pipelines/pr.yml", "azure-pipelines/release.yml", "azure-pipelines/monitoring.yml"} <= set(result.files)
    assert result.findings == []


def test_release_plans_production_and_applies_the_reviewed_plan_after_approval():
    import yaml

    doc = yaml.safe_load((EXAMPLE / "azure-pipelines" / "release.yml").read_text())
    stages = {s["stage"]: s for item in doc["stages"] for key, group in item.items() if "rollback" in key
              for s in group}
    plan, prod = stages["PlanProduction"], stages["Production"]
    plan_steps = plan["jobs"][0]["steps"]
    scripts = [st["parameters"]["script"] for st in plan_steps if "parameters" in st]
    assert any("sync" in s and "--plan-out" in s for s in scripts)
    assert any("deploy --plan-out" in s for s in scripts)
    publish = next(st for st in plan_steps if st.get("task") == "PublishPipelineArtifact@1")
    assert publish["inputs"]["artifact"] == "production-plan"
    assert "PlanProduction" in prod["dependsOn"]
    job = prod["jobs"][0]
    assert job["environment"] == "production" and "deployment" in job  # the environment's approvals gate it
    steps = job["strategy"]["runOnce"]["deploy"]["steps"]
    tasks = [st.get("task") or st.get("template") or next(iter(st)) for st in steps]
    download = tasks.index("DownloadPipelineArtifact@2")
    assert steps[download]["inputs"]["artifactName"] == "production-plan"
    applied = [st["parameters"]["script"] for st in _expanded(steps[download:]) if "parameters" in st]
    assert "sync --plan " in applied[0] and "deploy --plan " in applied[1] and "model promote" in applied[2]
    assert not any("--plan-out" in s or "--commit" in s for s in applied)
    # both ways of reaching production: the copy names its source; retrain trains in production first
    branches = {key: [st["parameters"]["script"] for st in group] for st in steps for key, group in st.items()
                if key.startswith("${{ if")}
    (copy,) = [v for k, v in branches.items() if "'copy'" in k]
    (retrain,) = [v for k, v in branches.items() if "'retrain'" in k]
    assert copy == ["mlops --target production model promote --from staging --version $(modelVersion) --to production"]
    assert "run ${{ parameters.trainingJob }}" in retrain[0] and "model promote" in retrain[1]
    plan_copy = [st["parameters"]["script"] for st in _expanded(plan_steps) if "parameters" in st][-1]
    assert "--dry-run model promote" in plan_copy and "uploadsummary" in plan_copy


def _expanded(steps):
    """Steps with the ones under compile-time ``${{ if ... }}`` keys in place (every branch)."""
    out = []
    for st in steps:
        if len(st) == 1 and next(iter(st)).startswith("${{ if"):
            out.extend(next(iter(st.values())))
        else:
            out.append(st)
    return out


def test_schema_patches_accept_what_the_service_accepts(tmp_path):
    p = write(tmp_path, "p.yml", (
        "trigger: none\npool: {vmImage: ubuntu-latest}\nsteps:\n"
        "- checkout: self\n  persistCredentials: true\n  fetchDepth: 1\n"
        "- task: cache@2\n  inputs: {key: k, path: p}\n"
        "- task: AzureCLI@2\n  inputs:\n    azureSubscription: sc\n    scriptType: bash\n"
        "    scriptLocation: inlineScript\n    inlineScript: echo\n    addSpnToEnvironment: 'true'\n"
        "- script: echo\n  timeoutInMinutes: 5\n  continueOnError: ${{ parameters.soft }}\n"
    ))
    assert validate([str(p)]).findings == []


def test_corpus_good_and_bad(monkeypatch):
    monkeypatch.chdir(REPO)
    good = validate([str(CORPUS / "good.yml")])
    assert [f for f in good.findings if "does not exist yet" not in f.message] == []
    bad = validate([str(CORPUS / "bad_schema.yml")])
    assert [(f.code, f.line) for f in bad.findings] == [("PL100", 12), ("PL100", 17)]
    assert "timeoutInMinutes" in bad.findings[0].message and "'scirpt'" in bad.findings[1].message
    rules = validate([str(CORPUS / "bad_rules.yml")])
    got = {(f.code, f.line) for f in rules.findings}
    assert {("PL104", 2), ("PL102", 6), ("PL101", 12), ("PL103", 13), ("PL106", 14), ("PL107", 15),
            ("PL106", 16), ("PL105", 17), ("PL108", 20)} <= got


def test_malformed_yaml_is_unreadable(monkeypatch):
    monkeypatch.chdir(REPO)
    result = validate([str(CORPUS)])
    assert [(f.path, f.code, f.line) for f in result.unreadable] == [("tests/corpus/pipelines/malformed.yml", "PL000", 4)]
    assert not result.ok


def test_template_is_wrapped_and_its_parameters_checked(tmp_path):
    t = write(tmp_path, "templates/t.yml", "parameters:\n- name: x\n  type: strnig\nsteps:\n- bash: echo\n")
    (f,) = validate([str(t)]).findings
    assert (f.code, f.line) == ("PL100", 3)


def test_check_command_uses_the_real_cli():
    assert check_command(["--target", "staging", "model", "promote", "--version", "__AZP_VALUE__", "--to",
                              "production"]) == []
    assert check_command(["--version"]) == []
    (code, msg), = check_command(["model", "promote", "--version", "3", "--to", "qa"])
    assert code == "PL106" and "'qa'" in msg
    (code, msg), = check_command(["model", "promote", "--to", "staging"])
    assert code == "PL106" and "--version" in msg
    (code, msg), = check_command(["--format", "xml", "lint"])
    assert code == "PL106"
    (code, msg), = check_command(["lint", "--nope"])
    assert code == "PL106" and "--nope" in msg


def test_registered_command_without_module_is_a_finding(monkeypatch):
    monkeypatch.setitem(COMMANDS, "ghost", ("ghost_not_written", "A command nobody wrote yet."))
    (code, msg), = check_command(["ghost"])
    assert code == "PL107" and "devops_mlops/cli/ghost_not_written.py does not exist yet" in msg


# ----------------------------------------------------------------------------- --remote


@pytest.fixture
def repo(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    write(tmp_path, "azure-pipelines/pr.yml", "trigger: none\nsteps:\n- bash: echo hi\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def emu():
    with AzureDevOpsEmulator(token="tok") as emu:
        emu.add_project("proj")
        emu.add_yaml_pipeline("proj", "other", "azure-pipelines/release.yml")
        emu.add_yaml_pipeline("proj", "pr", "azure-pipelines/pr.yml")
        yield emu


def test_remote_preview_ok_and_rejected(repo, emu):
    env = {"SYSTEM_ACCESSTOKEN": "tok", "SYSTEM_COLLECTIONURI": emu.org_url + "/", "SYSTEM_TEAMPROJECT": "proj"}
    files = ops.discover([], None)
    status, findings = preview_remote(files, from_config(None, env))
    assert status["status"] == "ok" and findings == []
    assert status["pipelines"][0]["pipeline"] == 2 and status["organization"] == emu.org_url + "/"
    write(repo, "azure-pipelines/pr.yml", "trigger: none\nsteps:\nbogus: 1\n")
    status, (f,) = preview_remote(files, from_config(None, env))
    assert status["status"] == "failed" and (f.code, f.line, f.column) == ("PL110", 3, 1)
    assert "Unexpected value 'bogus'" in f.message
    assert emu.requests_by_path(r"/preview$", "POST")[0].headers["authorization"].startswith("Basic ")
    assert [p["pipeline"] for p in emu.previews] == [2, 2]


def test_remote_skips_without_credentials_and_reports_a_bad_token(repo, emu):
    status, findings = preview_remote(ops.discover([], None), from_config(None, {}))
    assert status["status"] == "skipped" and "SYSTEM_ACCESSTOKEN" in status["reason"] and findings == []
    from devops_mlops.errors import ServiceError

    env = {"AZURE_DEVOPS_EXT_PAT": "wrong", "SYSTEM_COLLECTIONURI": emu.org_url, "SYSTEM_TEAMPROJECT": "proj"}
    with pytest.raises(ServiceError, match="rejected the token"):
        preview_remote(ops.discover([], None), from_config(None, env))
