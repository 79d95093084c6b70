"""`--dry-run` after the subcommand works exactly like `--dry-run` before it (cli.with_dry_run)."""

import json

import click
import pytest

from devops_mlops.cli import COMMANDS, State, load_command, main, with_dry_run
from devops_mlops.cli.command_lines import check_command
from devops_mlops.testing.databricks_emulator import DatabricksEmulator, sample_project

#: every command with a side effect, as a user would type it with --dry-run at the end
SIDE_EFFECTS = [
    ["sync", "--dry-run"],
    ["deploy", "--prune", "--dry-run"],
    ["run", "job0", "--dry-run"],
    ["model", "promote", "--version", "1", "--to", "production", "--dry-run"],
    ["model", "rollback", "--dry-run"],
    ["infer", "--dry-run"],
    ["monitor", "--no-push", "--dry-run"],
    ["lifecycle", "--push", "--dry-run"],
    ["commit", "notebooks/retrain.py", "--no-push", "--dry-run"],
    ["init", "new", "--dry-run"],
    ["adf", "deploy", "--dry-run"],
    ["adf", "export", "--dry-run"],
    ["azure-devops", "setup", "--dry-run"],
    ["report", "--dry-run"],
    ["lint", "--fix", "--dry-run"],
    ["test", "--dry-run"],
]


def _leaves(command: click.Command, path: tuple[str, ...]):
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _leaves(sub, (*path, name))
    else:
        yield path, command


def test_every_command_accepts_dry_run_after_itself():
    leaves = [leaf for name in COMMANDS for leaf in _leaves(load_command(name), (name,))]
    assert len(leaves) >= 19
    for path, command in leaves:
        opts = [p for p in command.params if isinstance(p, click.Option) and "--dry-run" in p.opts]
        assert len(opts) == 1, path  # exactly one, also after loading the command twice
    assert load_command("deploy") is load_command("deploy")


@pytest.mark.parametrize("args", SIDE_EFFECTS, ids=lambda a: " ".join(a[:2]))
def test_the_pipeline_validator_parses_it_against_the_real_cli(args):
    assert check_command(args) == []
    assert check_command(["--dry-run", *args[:-1]]) == []
    assert check_command([*args[:-1], "--dry-runn"])  # still strict: a typo is a finding


def test_the_option_sets_the_global_flag():
    seen = {}

    @click.group()
    @click.pass_context
    def group(ctx):
        ctx.obj = State(None, None, False, "text", False)

    @group.group("sub")
    def sub():
        pass

    @sub.command("leaf")
    @click.pass_obj
    def leaf(state):
        seen["dry_run"] = state.dry_run

    with_dry_run(group)
    group.main(["sub", "leaf", "--dry-run"], standalone_mode=False)
    assert seen == {"dry_run": True}
    group.main(["sub", "leaf"], standalone_mode=False)
    assert seen == {"dry_run": False}


def _run(capsys, *args):
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out, err = capsys.readouterr()
    return done.value.code, out, err


def test_sync_deploy_run_plan_the_same_either_way_and_write_nothing(tmp_path, capsys, monkeypatch):
    with DatabricksEmulator(token="dapi-dry") as emu:
        sample_project(tmp_path, host=emu.url)
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-dry")
        config = str(tmp_path / "mlops.yaml")
        for cmd in (["sync"], ["deploy"]):
            before = _run(capsys, "--config", config, "--target", "dev", "--format", "json", "--dry-run", *cmd)
            after = _run(capsys, "--config", config, "--target", "dev", "--format", "json", *cmd, "--dry-run")
            assert before[0] == after[0] == 0, (before, after)
            assert json.loads(before[1]) == json.loads(after[1])
            assert json.loads(after[1])["dry_run"] is True
        assert emu.writes() == [] and emu.jobs_created == []
        code, out, _ = _run(capsys, "--config", config, "--target", "dev", "deploy")
        assert code == 0 and "+ create" in out and len(emu.jobs_created) == 1
        before = _run(capsys, "--config", config, "--target", "dev", "--dry-run", "run", "job0")
        after = _run(capsys, "--config", config, "--target", "dev", "run", "job0", "--dry-run")
        assert before == after and after[0] == 0 and "plan: run job job0" in after[1]
        assert emu.runs == {}


def test_init_writes_nothing(tmp_path, capsys):
    code, out, _ = _run(capsys, "init", str(tmp_path / "new"), "--dry-run")
    assert code == 0 and "would write mlops.yaml" in out
    assert not (tmp_path / "new").exists()


def test_lint_fix_leaves_the_notebook_alone(tmp_path, capsys):
    nb = tmp_path / "n.ipynb"
    cell = {"cell_type": "code", "metadata": {}, "source": ["print(1)\n"], "execution_count": 3,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": ["1\n"]}]}
    nb.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    before = nb.read_bytes()
    _run(capsys, "lint", str(nb), "--fix", "--dry-run")
    assert nb.read_bytes() == before
    _run(capsys, "lint", str(nb), "--fix")
    assert nb.read_bytes() != before
