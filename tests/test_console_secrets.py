"""No secret in any output: a broad set of real commands runs with distinctive tokens in the
environment (and one behind a ``${ENV}`` reference in mlops.yaml); everything they print or
write (text, JSON, -v logs, a bug's traceback, JUnit, the HTML report, workspace and job state,
commit messages, the argv of every git process through a shim on PATH) is scanned for the
values and their base64 forms. The scanner is checked to catch a planted leak.
"""

from __future__ import annotations

import base64
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from devops_mlops.testing.azure_devops import AzureDevOpsEmulator
from devops_mlops.testing.databricks_emulator import DatabricksEmulator, sample_project
from devops_mlops.testing.git_http_server import GitHttpServer, agent_checkout, git, init_bare, seed
from devops_mlops.testing.warm_cli import Run, WarmCli

SECRETS = {
    "DATABRICKS_TOKEN": "dapi-LEAKdb-4f7a1c9e",
    "SYSTEM_ACCESSTOKEN": "sat-LEAKsys-8d2b6e0f",
    "AZURE_DEVOPS_EXT_PAT": "pat-LEAKpat-3c5e7a91",
    "ARM_CLIENT_SECRET": "arm-LEAKarm-6b0d2f48",
    "MLOPS_TEST_API_KEY": "key-LEAKenv-1a3c5e7b",  # only reachable through ${MLOPS_TEST_API_KEY}
}

TEST_NOTEBOOK = """# Databricks notebook source
import os
print("token", os.environ.get("DATABRICKS_TOKEN"), dbutils.widgets.get("key"))

# COMMAND ----------
assert False, "bad value " + dbutils.widgets.get("key") + " " + os.environ.get("SYSTEM_ACCESSTOKEN", "")
"""


def forms(value: str) -> set[str]:
    """The value, and how it looks base64-encoded alone or as a Basic credential."""
    out = {value}
    for raw in (value, f":{value}", f"x:{value}", f"mlops:{value}"):
        encoded = base64.b64encode(raw.encode()).decode()
        out |= {encoded, encoded.rstrip("=")}
    return out


def scan(collected: dict[str, bytes], secrets: dict[str, str]) -> list[str]:
    """'where: NAME' for every secret (or base64 form of one) found in the collected outputs."""
    found = []
    for where, data in collected.items():
        text = data.decode("utf-8", errors="replace")
        for name, value in secrets.items():
            if any(f in text for f in forms(value)):
                found.append(f"{where}: {name}")
    return found


def files_under(root: Path, prefix: str) -> dict[str, bytes]:
    out = {}
    for p in root.rglob("*"):
        if p.is_file() and ".git" not in p.relative_to(root).parts[:1]:
            out[f"{prefix}/{p.relative_to(root).as_posix()}"] = p.read_bytes()
    return out


@pytest.fixture
def shim(tmp_path):
    """`git` on PATH that records its argv (one JSON list a line), then runs the real git."""
    real = shutil.which("git")
    folder = tmp_path / "bin"
    folder.mkdir()
    log = tmp_path / "git-argv.log"
    script = folder / "git"
    script.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                      f"with open({str(log)!r}, 'a') as f:\n    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
                      f"os.execv({real!r}, [{real!r}] + sys.argv[1:])\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder, log


def test_the_scanner_finds_a_planted_leak(tmp_path):
    planted = {"clean": b"nothing to see ***", "stdout": b"Authorization: Basic "
               + base64.b64encode(f":{SECRETS['AZURE_DEVOPS_EXT_PAT']}".encode()),
               "report.html": f"<td>{SECRETS['MLOPS_TEST_API_KEY']}</td>".encode()}
    assert scan(planted, SECRETS) == ["stdout: AZURE_DEVOPS_EXT_PAT", "report.html: MLOPS_TEST_API_KEY"]


@pytest.fixture(scope="module")
def cli():
    """The `mlops` runs are forked from a launcher that has imported the CLI and the SDKs (not
    GitPython: each run finds `git` on its own PATH, the shim's)."""
    with WarmCli(preload=["devops_mlops.cli.app", "devops_mlops.context", "databricks.sdk",
                          "azure.devops.connection"]) as launcher:
        yield launcher


def test_no_command_output_or_file_contains_a_secret(tmp_path, shim, monkeypatch, capsys, cli):
    bin_dir, argv_log = shim
    env = {**os.environ, **SECRETS, "DATABRICKS_AUTH_TYPE": "pat", "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "GIT_TERMINAL_PROMPT": "0"}
    collected: dict[str, bytes] = {}

    def mlops(name: str, *args: str, cwd: Path, ok=(0, 1, 2)) -> Run:
        res = cli.run(args, cwd=cwd, env=env, timeout=300)
        collected[f"{name}: stdout"] = res.stdout.encode()
        collected[f"{name}: stderr"] = res.stderr.encode()
        assert res.returncode in ok, (name, res.returncode, res.stderr[-2000:])
        return res

    root = tmp_path / "project"
    root.mkdir()
    with DatabricksEmulator(token=SECRETS["DATABRICKS_TOKEN"]) as dbx, \
            AzureDevOpsEmulator(token=SECRETS["SYSTEM_ACCESSTOKEN"]) as ado:
        ado.add_project("ml")
        ado.add_repository("ml", "models")
        sample_project(root, host=dbx.url)
        text = (root / "mlops.yaml").read_text().replace(
            "variables: {env_name: dev}", "variables: {env_name: '${MLOPS_TEST_API_KEY}'}")
        text += (f"scm:\n  azure_devops: {{organization_url: '{ado.org_url}', project: ml, repository: models}}\n"
                 "test:\n  patterns: ['test_*']\n")
        (root / "mlops.yaml").write_text(text)
        (root / "notebooks" / "test_leak.py").write_text(TEST_NOTEBOOK)
        (root / "azure-pipelines").mkdir()
        for name in ("pr", "release", "monitoring"):
            (root / "azure-pipelines" / f"{name}.yml").write_text(
                "trigger: none\nsteps:\n- script: echo $(DATABRICKS_TOKEN)\n  env:\n    DATABRICKS_TOKEN: $(DATABRICKS_TOKEN)\n")

        mlops("lint", "-v", "lint", "--junit", "lint.xml", cwd=root)
        mlops("lint-json", "--format", "json", "lint", cwd=root)
        res = mlops("test", "-v", "test", "notebooks/test_leak.py", "--param", f"key={SECRETS['MLOPS_TEST_API_KEY']}",
                    "--junit", "test.xml", cwd=root, ok=(1,))
        assert b"***" in (root / "test.xml").read_bytes() + res.stdout.encode()  # the secrets were there, masked
        mlops("pipelines", "-v", "pipelines", "validate", cwd=root)
        mlops("plan-deploy", "-v", "--target", "dev", "--dry-run", "deploy", cwd=root)
        mlops("sync", "-v", "--target", "dev", "sync", cwd=root)
        mlops("deploy", "-v", "--format", "json", "--target", "dev", "deploy", cwd=root)
        dbx.set_outcome("second", error=f"KeyError: {SECRETS['DATABRICKS_TOKEN']}",
                        error_trace=f"Traceback\nKeyError: {SECRETS['ARM_CLIENT_SECRET']}")
        mlops("run", "-v", "--target", "dev", "run", "job0", cwd=root, ok=(1,))
        mlops("ado-setup", "-v", "azure-devops", "setup", "--dry-run", cwd=root)
        mlops("ado-setup-json", "--format", "json", "azure-devops", "setup", cwd=root)
        mlops("report", "-v", "report", cwd=root)
        collected |= files_under(root, "project")

    # the auto-commit, pushed over HTTP to a remote that wants the token
    remote = init_bare(tmp_path / "remotes" / "repo.git")
    seed(remote, {"mlops.yaml": "project: churn\nmodel: {name: churn}\n",
                  "notebooks/retrain.py": "# Databricks notebook source\nprint(1)\n"}, work=tmp_path / "scratch")
    with GitHttpServer(remote.parent, token=SECRETS["SYSTEM_ACCESSTOKEN"]) as server:
        agent = agent_checkout(server.url_for("repo.git"), tmp_path / "agent", env={
            "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraheader",
            "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: bearer {SECRETS['SYSTEM_ACCESSTOKEN']}"})
        (agent / "notebooks" / "retrain.py").write_text("# Databricks notebook source\nprint(2)\n")
        mlops("commit", "-v", "commit", "notebooks/retrain.py", cwd=agent, ok=(0,))
        assert server.pushes() and not server.leaks  # pushed; the token never in a process's command line
    collected["commit messages"] = git(remote, "log", "--all", "--format=%an %ae %B").encode()
    collected["remote history"] = git(remote, "log", "--all", "-p").encode()
    collected["git argv"] = argv_log.read_bytes()
    assert b'"push"' in collected["git argv"]  # the shim saw the real pushes

    # a bug (exit 3) whose exception carries a token: the -v traceback is masked too
    from devops_mlops.cli import main

    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(root)
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: (_ for _ in ()).throw(
        RuntimeError(f"ruff exploded near {SECRETS['DATABRICKS_TOKEN']} and {SECRETS['ARM_CLIENT_SECRET']}")))
    with pytest.raises(SystemExit) as exit_:
        main(["-v", "lint"])
    out, err = capsys.readouterr()
    assert exit_.value.code == 3 and "Traceback" in err and "RuntimeError: ruff exploded near ***" in err
    collected["bug: stdout"], collected["bug: stderr"] = out.encode(), err.encode()

    assert scan(collected, SECRETS) == []
    assert len(collected) > 40
