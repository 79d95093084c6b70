from pathlib import Path

import pytest

from devops_mlops.core import notebook as nbm
from devops_mlops.core.lint import check_notebook, code_selected, defined_names, python_source, scan_secrets

pytestmark = pytest.mark.fast

CORPUS = Path(__file__).parent.parent / "corpus" / "notebooks"


def load(path: Path) -> nbm.Notebook:
    return nbm.loads(path.read_bytes(), path)


def fake_pat() -> str:
    # built at run time so no token-shaped string is committed
    return "dapi" + "0123456789abcdef" * 2


@pytest.mark.parametrize(
    "line, code",
    [
        (f'token = "{fake_pat()}"', "SEC001"),
        (f'token = "{fake_pat()}-3"', "SEC001"),
        ("conn = 'DefaultEndpointsProtocol=https;AccountKey=" + "Q" * 30 + "=='", "SEC002"),
        ("url = 'https://a.blob.core.windows.net/c?sv=2022&sig=" + "abcDEF123%2B" * 3 + "'", "SEC003"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "SEC004"),
        ('password = "Winter2024!"', "SEC005"),
        ('"client_secret": "abc123-very"', "SEC005"),
    ],
)
def test_secrets_are_found_and_never_repeated(line, code):
    found = scan_secrets(line)
    assert [f[2] for f in found] == [code]
    secretish = line.split("=", 1)[-1].strip("'\" ")
    assert secretish[:12] not in found[0][3]


@pytest.mark.parametrize(
    "line",
    ['password = dbutils.secrets.get("kv", "pw")', 'password = ""', 'password = "***"', "pwd = '${DB_PASSWORD}'",
     'sig = compute_signature()', "dapi_prefix = 'dapi'"],
)
def test_secret_lookalikes_are_not_findings(line):
    assert scan_secrets(line) == []


def test_code_selection_is_prefix_based_and_longest_wins():
    assert code_selected("F401", ["F"], [])
    assert not code_selected("F401", ["F"], ["F4"])
    assert code_selected("F401", ["F401"], ["F"])
    assert not code_selected("E501", ["F"], [])
    assert code_selected("SEC001", ["ALL"], [])


def test_python_source_maps_lines_back_and_isolates_syntax_errors(tmp_path):
    path = tmp_path / "n.py"
    path.write_text(
        "# Databricks notebook source\nx = 1\n\n# COMMAND ----------\n\n# MAGIC %python\n# MAGIC y = x\n"
        "\n# COMMAND ----------\n\nz = (\n"
    )
    nb = load(path)
    text, line_map, syntax = python_source(nb, set(), isolate_syntax_errors=True)
    assert "y = x" in text
    found = [line_map.lookup(row) for row in range(1, text.count("\n") + 1)]
    rows = {v.line: v for v in found if v}
    assert found[1] is None and found[2] is None  # the blank lines between cells
    assert rows[7].col_offset == len("# MAGIC ") and rows[7].cell == 2
    assert [(f.line, f.code, f.cell) for f in syntax] == [(11, "E999", 3)]


def test_defined_names_of_a_run_target():
    nb = load(CORPUS / "good" / "00_setup.py")
    assert {"dt", "CATALOG", "SCHEMA", "table_name"} <= defined_names(nb)


def test_check_notebook_reports_malformed_source_and_missing_header():
    mess = load(CORPUS / "bad" / "magic_mess.py")
    findings = check_notebook(mess, "magic_mess.py", lambda n, t: None)
    assert {(f.code, f.line) for f in findings} >= {("MLO002", 3), ("MLO002", 4), ("MLO002", 10)}
    plain = load(CORPUS / "bad" / "no_header.py")
    (finding,) = check_notebook(plain, "no_header.py", lambda n, t: None)
    assert finding.code == "MLO003" and "line 3" in finding.message


def test_noqa_silences_one_code(tmp_path):
    path = tmp_path / "n.py"
    path.write_text(f'# Databricks notebook source\na = "{fake_pat()}"  # noqa: SEC001\nb = "{fake_pat()}"\n')
    findings = check_notebook(load(path), "n.py", lambda n, t: None)
    assert [(f.code, f.line) for f in findings] == [("SEC001", 3)]


def test_blank_lines_stay_blank_and_line_magics_become_pass(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("# Databricks notebook source\nimport os\n\n%load_ext autoreload\nprint(os.sep)\n")
    text, _vmap, _ = python_source(load(path), set())
    assert text == "import os\n\npass\nprint(os.sep)\n"


def test_an_indented_line_magic_keeps_the_block_valid(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("# Databricks notebook source\nif True:\n    %time x = 1\n")
    text, _vmap, syntax = python_source(load(path), set(), isolate_syntax_errors=True)
    assert text == "if True:\n    pass\n" and syntax == []


def test_secrets_in_text_outputs_are_found_and_images_are_not_scanned(tmp_path):
    import base64
    import json

    key = "AccountKey=" + "Zx9+" * 10 + "=="
    pixels = base64.b64encode(b"\x89PNG\r\n").decode() + key  # base64 that happens to spell a key
    outputs = [{"output_type": "stream", "name": "stdout", "text": [f"conn {key}\n"]},
               {"output_type": "display_data", "metadata": {}, "data": {"image/png": pixels, "text/plain": ["<Figure>"]}}]
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": outputs[:1], "source": "x = 1"},
             {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": outputs[1:], "source": "y = 2"}]
    path = tmp_path / "o.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    found = [(f.code, f.cell) for f in check_notebook(load(path), "o.ipynb", lambda n, t: None)]
    assert sorted(found) == [("MLO101", 1), ("MLO101", 2), ("SEC002", 1)]


def test_the_secret_pre_scan_knows_every_word():
    from devops_mlops.core.lint import _SECRET_WORDS, _may_hold_secret

    assert all(_may_hold_secret(f"x {word.upper()} y") for word in _SECRET_WORDS)
    assert not _may_hold_secret("print(spark.table('main.sales'))")


def test_an_ipynb_secret_is_found_in_any_cell_or_text_output_after_the_one_pre_scan(tmp_path):
    import json

    key = "AccountKey=" + "Ab1+" * 11
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": ["x = 1\n"]},
             {"cell_type": "code", "execution_count": None, "metadata": {},
              "outputs": [{"output_type": "stream", "name": "stdout", "text": ["conn " + key + "\n"]},
                          {"output_type": "display_data", "metadata": {},
                           "data": {"image/png": "UGFzc3dvcmQ=", "text/plain": ["ok"]}}],
              "source": ["print(conn)\n"]},
             {"cell_type": "markdown", "metadata": {}, "source": ["token dapi" + "0" * 32]}]
    path = tmp_path / "o.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    found = {(f.code, f.cell) for f in check_notebook(load(path), "o.ipynb", lambda n, t: None)}
    assert found == {("SEC002", 2), ("MLO101", 2), ("SEC001", 3)}
    cells[1]["outputs"] = []
    cells[2]["source"] = ["no secret here"]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert check_notebook(load(path), "o.ipynb", lambda n, t: None) == []


def test_findings_compare_hash_and_pickle_as_values():
    import pickle

    from devops_mlops.core.lint import Finding

    f = Finding("a.py", 1, 2, None, "F401", "error", "unused")
    assert f == Finding("a.py", 1, 2, None, "F401", "error", "unused", False) and len({f, pickle.loads(pickle.dumps(f))}) == 1
    assert f.fixable is False and Finding("a.py", 1, 2, 3, "MLO101", "warning", "m", fixable=True).fixable
    with pytest.raises(AttributeError):
        f.line = 3
