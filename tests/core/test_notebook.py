from pathlib import Path

import pytest

from devops_mlops.core import notebook as nbm
from devops_mlops.errors import InputError

CORPUS = Path(__file__).parent.parent / "corpus" / "notebooks"
ALL_READABLE = sorted(p for p in (CORPUS / "good").iterdir()) + sorted((CORPUS / "bad").iterdir())


@pytest.mark.parametrize("path", ALL_READABLE, ids=lambda p: p.name)
def test_reading_then_writing_gives_back_the_same_bytes(path):
    nb = nbm.read(path)
    assert nbm.dumps(nb) == path.read_bytes()


def test_source_cells_know_language_title_and_lines():
    nb = nbm.read(CORPUS / "good" / "10_features.py")
    assert nb.format == "source" and nb.language == "python"
    langs = [c.language for c in nb.cells]
    assert langs == ["run", "python", "python", "sql", "sh", "python"]
    assert nb.cells[0].run_target == "./00_setup"
    assert nb.cells[2].title == "Read the raw table"
    assert nb.cells[2].line == 12
    sql = nb.cells[3]
    assert sql.magic == "sql" and sql.body.startswith("SELECT plaza_id")
    assert sql.line_map == [17, 18, 19, 20]


def test_sql_and_scala_notebooks_use_their_comment_prefix():
    sql = nbm.read(CORPUS / "good" / "report.sql")
    assert [c.language for c in sql.cells] == ["sql", "python", "md"]
    assert sql.cells[0].title == "Daily totals"
    assert sql.cells[2].source == "%md\n## Notes\n\nTotals per day."
    scala = nbm.read(CORPUS / "good" / "Explore.scala")
    assert [c.language for c in scala.cells] == ["scala", "python"]


def test_databricks_ipynb_export_titles_and_magics():
    nb = nbm.read(CORPUS / "good" / "score.ipynb")
    assert nb.format == "ipynb" and nb.language == "python"
    assert [c.language for c in nb.cells] == ["md", "python", "sql", "python"]
    assert nb.cells[1].title == "Parameters"
    assert nb.cells[0].title is None


def test_plain_python_module_is_not_a_notebook():
    nb = nbm.read(CORPUS / "good" / "helpers_module.py")
    assert nb.format == "plain" and not nb.is_notebook
    assert len(nb.cells) == 1


@pytest.mark.parametrize("name", ["00_setup.py", "10_features.py", "report.sql", "Explore.scala"])
def test_source_to_ipynb_and_back_keeps_cells(name, tmp_path):
    nb = nbm.read(CORPUS / "good" / name)
    ipynb = nbm.to_ipynb(nb, tmp_path / "x.ipynb")
    back = nbm.to_source(ipynb, tmp_path / name)
    assert [(c.language, c.title, c.source) for c in back.cells] == [(c.language, c.title, c.source) for c in nb.cells]
    # and the canonical rendering is a fixed point
    again = nbm.to_source(nbm.to_ipynb(back), tmp_path / name)
    assert nbm.render_source(again) == nbm.render_source(back)


def test_ipynb_to_source_and_back_keeps_cells(tmp_path):
    nb = nbm.read(CORPUS / "good" / "score.ipynb")
    src = nbm.to_source(nb, tmp_path / "score.py")
    assert src.format == "source"
    assert src.text_lines[0] == "# Databricks notebook source"
    back = nbm.to_ipynb(src, tmp_path / "score.ipynb")
    assert [(c.language, c.title, c.source) for c in back.cells] == [
        (c.language, c.title, c.source) for c in nb.cells
    ]


def test_magic_lines_outside_a_magic_cell_are_reported():
    nb = nbm.read(CORPUS / "bad" / "magic_mess.py")
    problems = [p for c in nb.cells for p in c.problems]
    assert (3, "'# MAGIC' line outside a magic cell") in problems
    assert any(line == 10 for line, _ in problems)


def test_empty_cells_and_bare_magic_first_lines(tmp_path):
    path = tmp_path / "e.py"
    path.write_text("# Databricks notebook source\n\n# COMMAND ----------\n\n%pip install x\n")
    nb = nbm.read(path)
    assert nb.cells[0].source == ""
    assert nb.cells[1].language == "pip"
    assert nbm.dumps(nb) == path.read_bytes()


@pytest.mark.parametrize(
    "name, message",
    [
        ("old.ipynb", "nbformat 3 is not supported"),
        ("truncated.ipynb", "invalid JSON"),
        ("binary.py", "binary file"),
        ("wrong_header.sql", "uses the comment of python"),
    ],
)
def test_invalid_files_are_input_errors_naming_the_file(name, message):
    with pytest.raises(InputError) as err:
        nbm.read(CORPUS / "malformed" / name)
    assert message in err.value.message
    assert err.value.path.endswith(name)
    assert err.value.exit_code == 2


def test_strip_outputs_marks_modified_and_writes_atomically(tmp_path):
    path = tmp_path / "o.ipynb"
    path.write_text(
        '{"cells": [{"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": '
        '[{"output_type": "stream", "name": "stdout", "text": ["x\\n"]}], "source": ["print(1)"]}], '
        '"metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    nb = nbm.read(path)
    assert nbm.strip_outputs(nb)
    nbm.write(nb)
    again = nbm.read(path)
    assert again.cells[0].outputs == [] and again.cells[0].execution_count is None
    assert not nbm.strip_outputs(again)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.ipynb"]


def test_the_older_export_header_with_a_date_is_a_header():
    text = "# Databricks notebook source exported at Mon, 01 Jan 2024 10:00:00 UTC\nx = 1\n"
    nb = nbm.loads(text.encode(), "old.py")
    assert nb.format == "source" and [c.source for c in nb.cells] == ["x = 1"]
    assert nbm.dumps(nb) == text.encode()
    sql = nbm.loads(b"-- Databricks notebook source exported at 2019-05-02\nSELECT 1\n", "old.sql")
    assert sql.format == "source" and sql.language == "sql"
    # only that suffix: anything else after the header is not a header
    assert nbm.loads(b"# Databricks notebook source, more\nx = 1\n", "x.py").format == "plain"


def test_a_magic_written_with_extra_spaces_is_still_the_magic():
    text = "# Databricks notebook source\n# MAGIC  %md\n# MAGIC # Title\n\n# COMMAND ----------\n\n# MAGIC   %sql\n# MAGIC SELECT 1\n"
    nb = nbm.loads(text.encode(), "m.py")
    assert [(c.language, c.kind) for c in nb.cells] == [("md", "markdown"), ("sql", "code")]
    assert nb.cells[0].source == "%md\n# Title" and nb.cells[1].problems == []
    assert nbm.dumps(nb) == text.encode()


def test_iter_notebook_files_as_os_walk_would(tmp_path):
    import os

    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "__pycache__").mkdir()
    for rel in ("z.py", "a/b.ipynb", "a/deep/c.sql", "a/notes.txt", ".hidden/h.py", "__pycache__/p.py", ".dot.py"):
        (tmp_path / rel).write_text("x\n")
    (tmp_path / "folder.py").mkdir()  # a folder with a notebook's name
    os.symlink(tmp_path / "z.py", tmp_path / "link.py")  # a linked file counts
    os.symlink(tmp_path / "missing.py", tmp_path / "broken.py")  # a broken link does not
    os.symlink(tmp_path / "a", tmp_path / "linked")  # a linked folder is not entered
    got = [p.relative_to(tmp_path).as_posix() for p in nbm.iter_notebook_files([tmp_path])]
    assert got == ["a/b.ipynb", "a/deep/c.sql", "link.py", "z.py"]
    assert [p.name for p in nbm.iter_notebook_files([tmp_path], exclude=["a/deep/*", "link.py"])] == ["b.ipynb", "z.py"]


def test_read_bytes_names_what_it_cannot_read(tmp_path):
    (tmp_path / "n.py").write_bytes(b"# Databricks notebook source\n" * 1000)
    assert nbm.read_bytes(tmp_path / "n.py") == b"# Databricks notebook source\n" * 1000
    assert nbm.read_bytes(tmp_path / "n.py") == (tmp_path / "n.py").read_bytes()
    (tmp_path / "empty.py").write_bytes(b"")
    assert nbm.read_bytes(tmp_path / "empty.py") == b""
    for path, message in ((tmp_path, "is a folder"), (tmp_path / "gone.py", "file not found")):
        with pytest.raises(InputError, match=message):
            nbm.read_bytes(path)


@pytest.mark.parametrize(
    "doc, message",
    [
        ('{"cells": 3}', "no 'nbformat' number"),
        ('{"cells": 3, "nbformat": 4}', "'cells' must be a list"),
        ('{"cells": [], "nbformat": true}', "nbformat True is not supported"),
        ('{"cells": [], "nbformat": 4, "metadata": 5}', "the notebook's 'metadata' must be an object"),
        ('{"cells": [], "nbformat": 4, "metadata": {"kernelspec": []}}', "metadata 'kernelspec' must be an object"),
        ('{"cells": [{"cell_type": "code", "source": 5}], "nbformat": 4}', "cell 1: 'source' must be text"),
        ('{"cells": [{"cell_type": "code", "source": ["a", 1]}], "nbformat": 4}', "cell 1: 'source' must be text"),
        ('{"cells": [{"cell_type": "code", "source": "", "outputs": 7}], "nbformat": 4}', "cell 1: 'outputs' must be"),
        ('{"cells": [{"cell_type": "code", "source": "", "outputs": [3]}], "nbformat": 4}', "cell 1: 'outputs' must be"),
        ('{"cells": [{"cell_type": "code", "source": "", "metadata": []}], "nbformat": 4}', "cell 1: 'metadata' must be"),
        ('{"cells": [{"cell_type": "heading", "source": ""}], "nbformat": 4}', "unknown cell_type 'heading'"),
    ],
)
def test_an_ipynb_of_the_wrong_shape_is_an_input_error_naming_what_is_wrong(tmp_path, doc, message):
    path = tmp_path / "odd.ipynb"
    path.write_text(doc)
    with pytest.raises(InputError) as err:
        nbm.read(path)
    assert message in err.value.message and err.value.path.endswith("odd.ipynb")


def test_metadata_that_names_no_language_in_text_is_passed_over(tmp_path):
    path = tmp_path / "n.ipynb"
    path.write_text('{"cells": [], "nbformat": 4, "metadata": {"language_info": {"name": 3}, '
                    '"kernelspec": {"language": "R"}}}')
    assert nbm.read(path).language == "r"
