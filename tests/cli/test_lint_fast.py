"""`mlops lint` read without click (cli/lint_fast.py): which command lines it takes, that it
imports no click, and that it prints and exits exactly as the click command does."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devops_mlops.cli import app, main
from devops_mlops.cli.lint_fast import parse

CORPUS = Path(__file__).parent.parent / "corpus" / "notebooks"


def test_plain_lines_are_read_here():
    o = parse(["lint"])
    assert o is not None and o.paths == () and o.fmt == "text" and not o.fix
    o = parse(["--format", "json", "-v", "--config", "c.yaml", "--target=dev", "--dry-run", "--timeout", "30",
               "lint", "a", "--select", "F,MLO", "b.py", "--ignore=E4", "--junit", "out.xml", "--fix"])
    assert (o.fmt, o.verbose, o.config, o.target, o.dry_run, o.timeout) == ("json", True, "c.yaml", "dev", True, 30.0)
    assert o.paths == (Path("a"), Path("b.py")) and o.junit == Path("out.xml")
    assert (o.select, o.ignore, o.fix) == ("F,MLO", "E4", True)
    assert parse(["lint", "--dry-run"]).dry_run
    assert parse(["lint", "--", "--odd-name.py"]).paths == (Path("--odd-name.py"),)


@pytest.mark.parametrize("args", [
    [], ["--help"], ["lint", "--help"], ["lint", "-h"], ["test"], ["--version"], ["lint", "--nope"],
    ["lint", "--select"], ["lint", "--select", "F", "--select", "E"], ["lint", "--fix", "--fix"],
    ["--format", "xml", "lint"], ["--format"], ["--timeout", "0.5", "lint"], ["--timeout", "nan", "lint"],
    ["--timeout", "soon", "lint"], ["-v", "-v", "lint"], ["-v", "--verbose", "lint"], ["lint", "--select", "-F"],
    ["lint", ""], ["-vx", "lint"], ["--config=", "lint"],
])
def test_anything_else_is_left_to_click(args):
    assert parse(args) is None


def test_a_junit_path_click_would_refuse_is_left_to_click(tmp_path):
    assert parse(["lint", "--junit", str(tmp_path)]) is None  # a folder
    assert parse(["lint", "--junit", str(tmp_path / "new.xml")]) is not None


def _outcome(args, cwd, monkeypatch, capsys, *, via_click: bool):
    monkeypatch.chdir(cwd)
    code = 0
    try:
        if via_click:
            monkeypatch.setattr("devops_mlops.cli.lint_fast.parse", lambda _args: None)
        main(list(args))
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("args", [
    ["lint"], ["--format", "json", "lint"], ["lint", "notebooks", "--select", "MLO,SEC"],
    ["lint", "notebooks/missing.py"], ["--format", "json", "lint", "--ignore", "F"],
])
def test_the_same_outcome_as_through_click(tmp_path, monkeypatch, capsys, args):
    shutil.copytree(CORPUS / "bad", tmp_path / "notebooks")
    (tmp_path / "mlops.yaml").write_text("project: p\nmodel: {name: m}\n")
    fast = _outcome(args, tmp_path, monkeypatch, capsys, via_click=False)
    slow = _outcome(args, tmp_path, monkeypatch, capsys, via_click=True)
    assert fast == slow
    if "json" in args:
        assert json.loads(fast[1])["findings"]


def test_click_app_names_stay_reachable_from_the_package():
    import devops_mlops.cli as cli_pkg

    assert cli_pkg.cli is app.cli and cli_pkg.pass_state is app.pass_state
    with pytest.raises(AttributeError):
        cli_pkg.not_a_name  # noqa: B018


def test_lint_imports_neither_click_nor_the_ruff_package(tmp_path):
    shutil.copytree(CORPUS / "good", tmp_path / "notebooks")
    (tmp_path / "mlops.yaml").write_text("project: p\nmodel: {name: m}\n")
    code = (
        "import sys\n"
        "from devops_mlops.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    print('EXIT', exc.code, file=sys.stderr)\n"
        "print('LOADED', [m for m in ('click', 'ruff') if m in sys.modules], file=sys.stderr)\n"
    )
    p = subprocess.run([sys.executable, "-c", code, "lint"], cwd=tmp_path, capture_output=True, text=True)
    in_venv = sys.prefix != sys.base_prefix  # else ruff finds its own binary (its package imported)
    assert "EXIT 0" in p.stderr and ("LOADED []" if in_venv else "LOADED ['ruff']") in p.stderr, p.stderr
    p = subprocess.run([sys.executable, "-c", code, "lint", "--help"], cwd=tmp_path, capture_output=True, text=True)
    assert "LOADED ['click']" in p.stderr and "--select" in p.stdout


def _project(tmp_path: Path, config: str) -> Path:
    shutil.copytree(CORPUS / "good", tmp_path / "notebooks")
    (tmp_path / "mlops.yaml").write_text(config)
    return tmp_path


def test_a_config_read_while_ruff_works_still_reports_its_own_error_first(tmp_path, monkeypatch, capsys):
    # no "lint" in the file: linting starts before it is read; its error still wins over a notebook's
    root = _project(tmp_path, "project: p\nmodel: {name: m}\nunknown_key: 1\n")
    (root / "notebooks" / "zz_binary.py").write_bytes(b"\x00\x01 not text")
    for via_click in (False, True):
        code, _out, err = _outcome(["lint", "notebooks"], root, monkeypatch, capsys, via_click=via_click)
        assert code == 2 and "mlops.yaml" in err and "unknown_key" in err, err
        assert "zz_binary" not in err


def test_lint_settings_in_the_config_apply_before_any_notebook_is_read(tmp_path, monkeypatch, capsys):
    root = _project(tmp_path, "project: p\nmodel: {name: m}\nlint: {exclude: ['zz_*']}\n")
    (root / "notebooks" / "zz_binary.py").write_bytes(b"\x00\x01 not text")
    code, out, err = _outcome(["lint", "notebooks"], root, monkeypatch, capsys, via_click=False)
    assert code == 0 and "All checks passed" in out, out + err


def test_a_loaded_config_with_lint_settings_makes_lint_start_again(tmp_path):
    from devops_mlops.cli.lint_fast import _guess, _loader
    from devops_mlops.ops.lint import ConfigGuessWrong, lint_paths

    root = _project(tmp_path, "project: p\nmodel: {name: m}\n")
    path, guessed_root = _guess(str(root / "mlops.yaml"))
    assert guessed_root == root.resolve()
    result = lint_paths([root / "notebooks"], root=guessed_root, config=_loader(path))
    assert result.ok and result.config.project == "p"  # the configuration read meanwhile, for PR feedback
    (root / "mlops.yaml").write_text("project: p\nmodel: {name: m}\nlint: {ignore: [F]}\n")
    assert _guess(str(root / "mlops.yaml")) is None  # such a file is read first
    with pytest.raises(ConfigGuessWrong) as wrong:  # and had it been guessed, the guess is refused
        lint_paths([root / "notebooks"], root=guessed_root, config=_loader(path))
    assert wrong.value.config.lint.ignore == ["F"]


def test_the_mlops_process_leaves_with_the_run_s_code_and_all_its_output(tmp_path):
    # the process itself (no argv given) leaves without the interpreter's teardown: the exit code
    # and every line of a long report must still come through a pipe
    root = _project(tmp_path, "project: p\nmodel: {name: m}\n")
    for n in range(300):
        (root / "notebooks" / f"bad_{n:03d}.py").write_text("# Databricks notebook source\nimport os\n")
    (root / "bad.yaml").write_text("project: [\n")
    code = "import sys\nfrom devops_mlops.cli import main\nsys.argv[0] = 'mlops'\nmain()\n"

    def mlops(*args):
        return subprocess.run([sys.executable, "-c", code, *args], cwd=root, capture_output=True, text=True)

    found = mlops("lint", "notebooks")
    assert found.returncode == 1, found.stderr
    assert sum(1 for line in found.stdout.splitlines() if " F401 " in line) == 300
    clean = mlops("lint", "notebooks/" + sorted(p.name for p in (CORPUS / "good").iterdir())[0])
    assert clean.returncode == 0, clean.stdout + clean.stderr
    bad = mlops("--config", "bad.yaml", "lint", "notebooks")
    assert bad.returncode == 2 and "bad.yaml" in bad.stderr and "Traceback" not in bad.stderr
