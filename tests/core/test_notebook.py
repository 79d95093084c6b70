"""The notebook model from bytes and back (parsing, rendering, conversions): no file is read
here but the corpus's, handed over as bytes; files on disk are tests/files/test_notebooks.py."""

from pathlib import Path

import pytest

from devops_mlops.core import notebook as nbm
from devops_mlops.errors import InputError

pytestmark = pytest.mark.fast

CORPUS = Path(__file__).parent.parent / "corpus" / "notebooks"
ALL_READABLE = sorted(p for p in [*(CORPUS / "good").iterdir(), *(CORPUS / "bad").iterdir()] if p.is_file())


def load(path: Path) -> nbm.Notebook:
    return nbm.loads(path.read_bytes(), path)


@pytest.mark.parametrize("path", ALL_READABLE, ids=lambda p: p.name)
def test_reading_then_writing_gives_back_the_same_bytes(path):
    nb = load(path)
    assert nbm.dumps(nb) == path.read_bytes()


def test_source_cells_know_language_title_and_lines():
    nb = load(CORPUS / "good" / "10_features.py")
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
    sql = load(CORPUS / "good" / "report.sql")
    assert [c.language for c in sql.cells] == ["sql", "python", "md"]
    assert sql.cells[0].title == "Daily totals"
    assert sql.cells[2].source == "%md\n## Notes\n\nTotals per day."
    scala = load(CORPUS / "good" / "Explore.scala")
    assert [c.language for c in scala.cells] == ["scala", "python"]


def test_databricks_ipynb_export_titles_and_magics():
    nb = load(CORPUS / "good" / "score.ipynb")
    assert nb.format == "ipynb" and nb.language == "python"
    assert [c.language for c in nb.cells] == ["md", "python", "sql", "python"]
    assert nb.cells[1].title == "Parameters"
    assert nb.cells[0].title is None


def test_plain_python_module_is_not_a_notebook():
    nb = load(CORPUS / "good" / "helpers_module.py")
    assert nb.format == "plain" and not nb.is_notebook
    assert len(nb.cells) == 1


@pytest.mark.parametrize("name", ["00_setup.py", "10_features.py", "report.sql", "Explore.scala"])
def test_source_to_ipynb_and_back_keeps_cells(name, tmp_path):
    nb = load(CORPUS / "good" / name)
    ipynb = nbm.to_ipynb(nb, tmp_path / "x.ipynb")
    back = nbm.to_source(ipynb, tmp_path / name)
    assert [(c.language, c.title, c.source) for c in back.cells] == [(c.language, c.title, c.source) for c in nb.cells]
    # and the canonical rendering is a fixed point
    again = nbm.to_source(nbm.to_ipynb(back), tmp_path / name)
    assert nbm.render_source(again) == nbm.render_source(back)


def test_ipynb_to_source_and_back_keeps_cells(tmp_path):
    nb = load(CORPUS / "good" / "score.ipynb")
    src = nbm.to_source(nb, tmp_path / "score.py")
    assert src.format == "source"
    assert src.text_lines[0] == "# Databricks notebook source"
    back = nbm.to_ipynb(src, tmp_path / "score.ipynb")
    assert [(c.language, c.title, c.source) for c in back.cells] == [
        (c.language, c.title, c.source) for c in nb.cells
    ]


def test_magic_lines_outside_a_magic_cell_are_reported():
    nb = load(CORPUS / "bad" / "magic_mess.py")
    problems = [p for c in nb.cells for p in c.problems]
    assert (3, "'# MAGIC' line outside a magic cell") in problems
    assert any(line == 10 for line, _ in problems)


def test_empty_cells_and_bare_magic_first_lines():
    raw = b"# Databricks notebook source\n\n# COMMAND ----------\n\n%pip install x\n"
    nb = nbm.loads(raw, "e.py")
    assert nb.cells[0].source == ""
    assert nb.cells[1].language == "pip"
    assert nbm.dumps(nb) == raw


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
        load(CORPUS / "malformed" / name)
    assert message in err.value.message
    assert err.value.path.endswith(name)
    assert err.value.exit_code == 2


def test_strip_outputs_marks_the_notebook_modified():
    raw = (b'{"cells": [{"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": '
           b'[{"output_type": "stream", "name": "stdout", "text": ["x\\n"]}], "source": ["print(1)"]}], '
           b'"metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    nb = nbm.loads(raw, "o.ipynb")
    assert nbm.strip_outputs(nb) and nb.modified
    again = nbm.loads(nbm.dumps(nb), "o.ipynb")
    assert again.cells[0].outputs == [] and again.cells[0].execution_count is None
    assert not nbm.strip_outputs(again) and not again.modified


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
def test_an_ipynb_of_the_wrong_shape_is_an_input_error_naming_what_is_wrong(doc, message):
    with pytest.raises(InputError) as err:
        nbm.loads(doc.encode(), "odd.ipynb")
    assert message in err.value.message and err.value.path.endswith("odd.ipynb")


def test_metadata_that_names_no_language_in_text_is_passed_over():
    raw = (b'{"cells": [], "nbformat": 4, "metadata": {"language_info": {"name": 3}, '
           b'"kernelspec": {"language": "R"}}}')
    assert nbm.loads(raw, "n.ipynb").language == "r"
