import json

import pytest

from devops_mlops import console

pytestmark = pytest.mark.fast


def test_known_token_variables_are_masked(monkeypatch):
    monkeypatch.setenv("SYSTEM_ACCESSTOKEN", "s3cr3t-token-value")
    assert console.mask("Bearer s3cr3t-token-value") == "Bearer ***"
    assert console.mask_obj({"a": ["x s3cr3t-token-value"]}) == {"a": ["x ***"]}


def test_vso_lines_only_inside_a_pipeline(monkeypatch, capsys):
    c = console.Console()
    c.logissue("error", "boom", path="a.py", line=3, column=2, code="F401")
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("TF_BUILD", "True")
    c.logissue("error", "bad; thing]\nnext 100%", path="a.py", line=3, column=2, code="F401")
    out = capsys.readouterr().out.strip()
    assert out == (
        "##vso[task.logissue type=error;sourcepath=a.py;linenumber=3;columnnumber=2;code=F401]"
        "bad; thing]%0Anext 100%AZP25"
    )


def test_vso_property_escaping():
    assert console.vso_escape_property("a;b]c\r\n%") == "a%3Bb%5Dc%0D%0A%AZP25"


def test_json_mode_prints_one_document(capsys):
    c = console.Console("json")
    c.info("progress goes to stderr")
    c.result({"ok": True}, lambda: ["text"])
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"ok": True}
    assert "progress" in captured.err


def test_table_alignment():
    lines = console.table([[1, "alpha"], [22, None]], ["n", "name"])
    assert lines[0] == "n   name"
    assert lines[2] == "1   alpha"


def test_tracker_follows_the_pipeline_and_masks_secrets(monkeypatch, capsys):
    monkeypatch.setenv("TF_BUILD", "True")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-s3cr3t")
    with console.Console().tracker(1, "upload") as progress:
        assert progress.mode == "lines"
        progress.note("sent with dapi-s3cr3t")
        progress.step()
    err = capsys.readouterr().err
    assert "dapi-s3cr3t" not in err and "sent with ***" in err and "upload: 1/1 (100%)" in err
    assert console.Console("json").tracker(1, "upload").mode == "off"
