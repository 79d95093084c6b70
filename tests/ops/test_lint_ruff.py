"""When notebooks may go to ruff as they are (ops/lint_ruff.py), and that doing so finds exactly
what the virtual modules find."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devops_mlops.ops import lint_ruff
from devops_mlops.ops.lint import lint_paths

CORPUS = Path(__file__).parent.parent / "corpus" / "notebooks"


@pytest.mark.parametrize(
    "select, config, direct",
    [
        (["E4", "E7", "E9", "F", "MLO"], None, True),
        (["F", "B", "E501", "SIM"], None, True),
        (["F", "E3"], None, False),  # blank lines between cells differ in place
        (["F", "I"], None, False),  # import blocks across cells
        (["ALL"], None, False),
        ([], "[lint]\nselect = ['F', 'UP']\n", True),
        ([], "[lint]\nextend-select = ['D']\n", False),
        (["F"], "[lint.per-file-ignores]\n'notebooks/*' = ['F401']\n", False),  # paths would match in place only
        (["F"], "extend = '../base.toml'\n", False),
    ],
)
def test_direct_only_for_rules_blind_to_layout_and_paths(tmp_path, select, config, direct):
    if config is not None:
        (tmp_path / "ruff.toml").write_text(config)
    assert lint_ruff.RuffRun(select, [], tmp_path).direct_ok is direct


def notebook(tmp_path: Path) -> Path:
    long_md = "x" * 120
    path = tmp_path / "nb" / "wide.py"
    path.parent.mkdir()
    path.write_text(
        "# Databricks notebook source\nimport os\nimport json\n\n# COMMAND ----------\n\n"
        f"# MAGIC %md\n# MAGIC {long_md}\n\n# COMMAND ----------\n\n# DBTITLE 1,{long_md}\n"
        f"value = '{long_md}'\nprint(undefined_one);x = 1\n\n# COMMAND ----------\n\n"
        "# MAGIC %sql\n# MAGIC SELECT not python at all FROM t\n\n# COMMAND ----------\n\n"
        "def f():\n    return json.dumps(os.sep)\nif f() == None:\n    pass\n"
    )
    return path


def test_in_place_and_virtual_find_the_same(tmp_path, monkeypatch):
    path = notebook(tmp_path)
    select = ["F", "E4", "E5", "E7", "E9", "MLO", "SEC"]
    in_place = lint_paths([path], select=select)
    monkeypatch.setattr(lint_ruff, "LAYOUT_FREE", ())  # every rule "layout-sensitive": virtual modules
    virtual = lint_paths([path], select=select)
    assert in_place.findings == virtual.findings
    got = {(f.code, f.line, f.cell) for f in in_place.findings}
    # E501 for the long Python line only: not for the markdown line nor the title, which ruff
    # sees as comments of the file
    assert got == {("E501", 13, 3), ("F821", 14, 3), ("E702", 14, 3), ("E711", 25, 5)}


def test_good_corpus_in_place_and_virtual(monkeypatch):
    files = sorted(p for p in (CORPUS / "good").iterdir()) + sorted((CORPUS / "bad").iterdir())
    in_place = lint_paths(files)
    monkeypatch.setattr(lint_ruff, "LAYOUT_FREE", ())
    assert lint_paths(files).findings == in_place.findings


def test_a_broken_file_read_in_place_is_linted_again_cell_by_cell(tmp_path):
    path = tmp_path / "b.py"
    path.write_text("# Databricks notebook source\nx = (\n\n# COMMAND ----------\n\nimport os\n")
    got = [(f.code, f.line) for f in lint_paths([path]).findings]
    assert got == [("E999", 2), ("F401", 6)]


def test_ruff_is_stopped_and_the_scratch_folder_removed_when_a_file_is_malformed(tmp_path, monkeypatch):
    from devops_mlops.errors import InputError

    (tmp_path / "a.ipynb").write_text(json.dumps({"cells": [{"cell_type": "code", "source": "import os",
                                                             "metadata": {}, "outputs": []}],
                                                  "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    (tmp_path / "z.py").write_text("-- Databricks notebook source\nSELECT 1\n")  # wrong comment for .py
    monkeypatch.setattr(lint_ruff, "scratch_parent", lambda: str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    with pytest.raises(InputError) as err:
        lint_paths([tmp_path / "a.ipynb", tmp_path / "z.py"])
    assert err.value.path.endswith("z.py")
    assert list((tmp_path / "scratch").iterdir()) == []


def _commands(monkeypatch) -> list[list[str]]:
    import subprocess

    calls: list[list[str]] = []
    real = subprocess.Popen

    class Recording(real):
        def __init__(self, cmd, *a, **k):
            calls.append(cmd)
            super().__init__(cmd, *a, **k)

    monkeypatch.setattr(subprocess, "Popen", Recording)
    return calls


LATE_IMPORT = "x = 1\nimport os\nprint(os.sep)\n"


def test_e402_is_not_asked_of_ruff_for_notebooks_only(tmp_path, monkeypatch):
    (tmp_path / "nbs").mkdir()
    (tmp_path / "mixed").mkdir()
    (tmp_path / "nbs" / "a.py").write_text("# Databricks notebook source\n" + LATE_IMPORT)
    (tmp_path / "nbs" / "escaped.py").write_text("# Databricks notebook source\n!ls\n" + LATE_IMPORT)  # virtual
    (tmp_path / "mixed" / "b.py").write_text("# Databricks notebook source\n" + LATE_IMPORT)
    (tmp_path / "mixed" / "plain.py").write_text(LATE_IMPORT)
    (tmp_path / "mixed" / "plain_escaped.py").write_text("!ls\n" + LATE_IMPORT)  # a virtual plain module
    calls = _commands(monkeypatch)
    got = {(Path(f.path).name, f.code) for f in lint_paths([tmp_path]).findings}
    assert got == {("plain.py", "E402"), ("plain_escaped.py", "E402")}  # as before: notebooks' E402 dropped
    (cmd,) = calls
    (quiet,) = [a for a in cmd if a.startswith("lint.extend-per-file-ignores")]
    assert f'"{tmp_path / "nbs"}/*.py"' in quiet  # a folder of notebooks only: one pattern
    assert f'"{tmp_path / "mixed" / "b.py"}"' in quiet and "plain" not in quiet  # beside plain files: by name
    # the scratch folder holds a plain module too: its notebook module is named on its own
    assert quiet.count("mlops-lint-") == 1 and "/*.py" not in quiet.split(str(tmp_path))[0]


def test_e402_stays_asked_when_ruf100_could_call_a_noqa_unused(tmp_path, monkeypatch):
    (tmp_path / "a.py").write_text("# Databricks notebook source\nx = 1\nimport os  # noqa: E402\nprint(os.sep)\n")
    calls = _commands(monkeypatch)
    assert lint_paths([tmp_path], select=["F", "E4", "RUF100"]).findings == []
    assert not any(a.startswith("lint.extend-per-file-ignores") for a in calls[0])
    assert lint_ruff.RuffRun(["F", "RUF"], [], None).quiet_e402 is False
    assert lint_ruff.RuffRun(["ALL"], [], None).quiet_e402 is False
    assert lint_ruff.RuffRun(["F", "E4"], [], None).quiet_e402 is True


def test_a_path_with_glob_characters_is_not_made_a_pattern(tmp_path, monkeypatch):
    odd = tmp_path / "odd[1]"
    odd.mkdir()
    (odd / "a.py").write_text("# Databricks notebook source\n" + LATE_IMPORT)
    calls = _commands(monkeypatch)
    assert lint_paths([odd]).findings == []
    assert not any(a.startswith("lint.extend-per-file-ignores") for a in calls[0])


def test_the_ruff_binary_is_the_one_ruff_finds(monkeypatch):
    from ruff import find_ruff_bin

    assert Path(lint_ruff.ruff_bin()).resolve() == Path(find_ruff_bin()).resolve()


def test_concise_lines_of_real_ruff_read_back_with_colons_fix_marks_and_syntax_errors(tmp_path, monkeypatch):
    import subprocess

    monkeypatch.chdir(tmp_path)
    odd = tmp_path / "a:1:2: b.py"  # a name that looks like a position
    odd.write_text("import os\n")
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "nb00001.py").write_text("x = undefined_name\n")
    proc = subprocess.run([lint_ruff.ruff_bin(), "check", "--output-format", "concise", "--quiet", "--no-cache",
                           "--exit-zero", "--isolated", "--select", "F", "a:1:2: b.py", "broken.py",
                           str(scratch / "nb00001.py")], capture_output=True, text=True, check=True)
    got = lint_ruff.parse_concise(proc.stdout, str(tmp_path), {str(odd), str(broken)}, str(scratch) + "/")
    by_file = {d["filename"]: d for d in got}
    assert set(by_file) == {str(odd), str(broken), "nb00001.py"}
    assert by_file[str(odd)]["code"] == "F401" and by_file[str(odd)]["location"] == {"row": 1, "column": 8}
    assert not by_file[str(odd)]["message"].startswith("[*]")  # the fix mark is not part of the message
    assert by_file[str(broken)]["code"] is None  # a syntax error
    assert by_file["nb00001.py"]["code"] == "F821" and "undefined_name" in by_file["nb00001.py"]["message"]


def test_a_line_that_is_no_finding_continues_the_message_and_cannot_come_first(tmp_path):
    text = f"{tmp_path}/m.py:3:1: F821 Undefined name `x`\n  more words\n"
    (got,) = lint_ruff.parse_concise(text, str(tmp_path), {f"{tmp_path}/m.py"}, None)
    assert got["message"] == "Undefined name `x`\n  more words"
    with pytest.raises(lint_ruff.MlopsError, match="not a finding"):
        lint_ruff.parse_concise("panic: something\n", str(tmp_path), set(), None)
