"""A JUnit report on disk: written atomically into a folder it creates, masked like the console."""

import pytest

from devops_mlops.core.junit import Case, Failure, Suite, to_xml
from devops_mlops.files.junit import write_junit

pytestmark = pytest.mark.fast


def test_the_report_is_the_xml_of_its_suites_masked(tmp_path, monkeypatch):
    secret = "s3cr3t-token-value-" + "9" * 8
    monkeypatch.setenv("SYSTEM_ACCESSTOKEN", secret)
    suite = Suite("mlops test", cases=[Case("ok"), Case("leaky", failure=Failure("boom", f"echo {secret}"))])
    out = write_junit(tmp_path / "reports" / "deep" / "junit.xml", [suite], name="mlops test")
    assert out == tmp_path / "reports" / "deep" / "junit.xml"
    text = out.read_text(encoding="utf-8")
    assert secret not in text and text == to_xml([suite], "mlops test").replace(secret, "***")
    assert sorted(p.name for p in out.parent.iterdir()) == ["junit.xml"]  # the temporary file was renamed


def test_a_second_report_replaces_the_first(tmp_path):
    path = tmp_path / "junit.xml"
    write_junit(path, [Suite("a", cases=[Case("one")])])
    write_junit(path, [Suite("b", cases=[Case("two"), Case("three")])])
    assert 'tests="2"' in path.read_text(encoding="utf-8") and "one" not in path.read_text(encoding="utf-8")
