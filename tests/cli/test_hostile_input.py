"""Hostile input x every command that reads it: exit 2, one line naming the file, no traceback,
a few seconds, bounded memory, nothing written.

Each case runs the real CLI in a process of its own (with an address-space limit as a safety net
and its peak RSS read back from ``wait4``) over a small project in which one file is hostile. The
processes are forked from a warm launcher that has imported the CLI already
(devops_mlops/testing/warm_cli.py): a case costs what its command costs, not an interpreter start.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from devops_mlops.cli.state import COMMANDS
from devops_mlops.testing.databricks_emulator import sample_project
from devops_mlops.testing.warm_cli import WarmCli

SECONDS = 10.0  # measured: under 1 s each (median 0.06 s) on the 2-core machine, forked warm
PEAK_RSS_MB = 400  # measured: under 60 MB
HUGE = 50 * 1024 * 1024


def _bomb() -> bytes:
    """A billion laughs: nine levels of ten aliases each (10^9 values from 10 lines)."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    return ("\n".join(lines) + "\n").encode()


def _deep_yaml() -> bytes:
    """5,000 nested flow sequences, then 500 nested block mappings (both also valid JSON/YAML)."""
    return b"[" * 5000 + b"]" * 5000 + b"\n"


def _huge(header: bytes = b"") -> bytes:
    line = b"x = 1  # " + b"y" * 90 + b"\n"
    return header + line * (HUGE // len(line) + 1)


HOSTILE = {
    "alias-bomb": _bomb,
    "deep-nesting": _deep_yaml,
    "deep-mapping": lambda: "".join(f"{' ' * i}k{i}:\n" for i in range(600)).encode() + b" " * 600 + b"v\n",
    "binary": lambda: bytes(range(256)) * 64,
    "not-utf8": lambda: "project: caf\xe9\nmodel: {name: m}\n".encode("latin-1"),
    "empty": lambda: b"",
    "50MB": lambda: _huge(b"# Databricks notebook source\n"),
}

CONFIG_COMMANDS = {
    "lint": ["lint"],
    "test": ["test"],
    "sync": ["--dry-run", "sync"],
    "deploy": ["--dry-run", "deploy"],
    "pipelines": ["pipelines", "validate"],
    "adf-export": ["adf", "export", "--out", "adf-out"],
    "run": ["run", "job0"],
    "infer": ["infer"],
    "monitor": ["monitor"],
    "model": ["model", "status"],
    "report": ["report"],
}

#: (file made hostile, command) -> the kinds it is tried with
CASES: list[tuple[str, str, list[str], str]] = []
for _kind in HOSTILE:
    for _name, _cmd in CONFIG_COMMANDS.items():
        CASES.append((_kind, "mlops.yaml", _cmd, _name))
    for _name, _cmd in {"deploy": ["--dry-run", "deploy"], "adf-export": ["adf", "export", "--out", "adf-out"],
                        "run": ["run", "job0"]}.items():
        if _kind != "empty":  # an empty job-definition file defines no jobs
            CASES.append((_kind, "resources/jobs.yml", _cmd, _name))
    if _kind != "empty":  # an empty pipeline is a finding (exit 1), test_empty_files_are_documented
        CASES.append((_kind, "azure-pipelines/pr.yml", ["pipelines", "validate"], "pipelines"))
    for _name, _cmd in {"lint": ["lint"], "test": ["test", "notebooks/test_x.ipynb"], "sync": ["--dry-run", "sync"]}.items():
        CASES.append((_kind, "notebooks/test_x.ipynb", _cmd, _name))
    if _kind in ("binary", "not-utf8", "50MB"):  # the others are valid Python text
        for _name, _cmd in {"lint": ["lint"], "test": ["test", "notebooks/test_y.py"]}.items():
            CASES.append((_kind, "notebooks/test_y.py", _cmd, _name))
        for existing in ("README.md", ".gitignore"):  # init appends to them
            CASES.append((_kind, existing, ["init", ".", "--name", "demo"], "init"))


def _project(root: Path) -> None:
    sample_project(root)
    (root / "azure-pipelines").mkdir()
    (root / "azure-pipelines" / "pr.yml").write_text("trigger: none\nsteps:\n- script: echo hi\n")


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if ".git" not in p.parts}


@pytest.fixture(scope="module")
def cli():
    """The launcher the cases' `mlops` processes are forked from. It imports only what every one of
    these commands imports anyway (the CLI, its commands, config and context: none of the heavy
    libraries), so a run's peak RSS is what a fresh `mlops` process reaches."""
    commands = sorted({f"devops_mlops.cli.{COMMANDS[args[0] if args[0] != '--dry-run' else args[1]][0]}"
                       for _, _, args, _ in CASES})
    with WarmCli(preload=["devops_mlops.cli.app", "devops_mlops.context", *commands]) as launcher:
        yield launcher


def run_limited(cli: WarmCli, args: list[str], cwd: Path) -> tuple[int, str, str, float, float]:
    """(exit code, stdout, stderr, seconds, peak RSS in MB) of `mlops ARGS`, killed after 60 s."""
    try:
        run = cli.run(args, cwd=cwd, timeout=60, limit_as=4 * 1024 ** 3)  # a safety net for the machine
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"mlops {' '.join(args)} ran for more than 60 s") from exc
    return run.returncode, run.stdout, run.stderr, run.seconds, run.peak_rss_mb


@pytest.mark.parametrize(("kind", "rel", "args", "command"), CASES,
                         ids=[f"{k}-{r.split('/')[-1]}-{c}" for k, r, _, c in CASES])
def test_hostile_file_is_one_clear_error(kind, rel, args, command, tmp_path, cli):
    _project(tmp_path)
    if command == "init":
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / rel).write_bytes(HOSTILE[kind]())
    before = _tree(tmp_path)
    code, out, err, seconds, rss = run_limited(cli, args, tmp_path)
    assert code == 2, (code, out[-500:], err[-500:])
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err[-1000:]
    assert Path(rel).name in lines[0], lines[0]
    assert "Traceback" not in out + err and "internal error" not in err
    assert seconds < SECONDS, seconds
    assert rss < PEAK_RSS_MB, rss
    assert _tree(tmp_path) == before  # nothing written, nothing touched


def test_empty_files_are_documented(tmp_path, cli):
    """Where an empty file is valid it is not an error: no jobs, an empty module; an empty pipeline
    is a finding (exit 1)."""
    _project(tmp_path)
    (tmp_path / "resources" / "jobs.yml").write_bytes(b"")
    (tmp_path / "azure-pipelines" / "pr.yml").write_bytes(b"")
    code, out, err, _, _ = run_limited(cli, ["--dry-run", "deploy"], tmp_path)
    assert code == 0, err
    code, out, err, _, _ = run_limited(cli, ["pipelines", "validate"], tmp_path)
    assert code == 1 and "pr.yml" in out + err and "Traceback" not in out + err
