"""A saved plan as Markdown for the run page."""

from devops_mlops.core import plan_file as pf
from devops_mlops.core.plan_summary import markdown

import pytest

pytestmark = pytest.mark.fast


def sealed(**over):
    doc = {"format": pf.FORMAT, "format_version": pf.FORMAT_VERSION, "toolkit_version": "1.0", "command": "deploy",
           "target": {"name": "staging", "host": "https://adb-1.net", "workspace_dir": "/Shared/p", "project": "p"},
           "selection": {"only": ["a"]}, "remote_state": pf.fingerprint({}),
           "jobs": {"actions": [{"op": "update", "key": "a", "job_id": 1, "diff": ['~ name: "a" -> "b"'],
                                 "settings": {"name": "b"}, "reason": "settings differ"}], "foreign_same_name": []},
           "artifacts": [{"file": "p-1.0-py3-none-any.whl", "sha256": "ab" * 32, "path": "/Volumes/c/s/v/x.whl"}]}
    doc.update(over)
    return pf.seal(doc)


def test_markdown_shows_target_artifacts_and_the_diff():
    text = markdown(sealed())
    assert "## mlops deploy plan for target `staging`" in text and "selection: only = `['a']`" in text
    assert "artifact `p-1.0-py3-none-any.whl` sha256 `" + "ab" * 32 in text
    assert '~ update a (job 1)  settings differ\n    ~ name: "a" -> "b"' in text
    sync = sealed(command="sync", sync={"mode": "workspace", "root": "/Shared/p", "mkdirs": ["sub"],
                                        "actions": [{"op": "create", "rel": "sub/nb", "reason": "new"}],
                                        "adopted": []})
    del sync["jobs"], sync["artifacts"]
    text = markdown(sync)
    assert "+ create /Shared/p/sub/nb  (new)" in text and "folders to create: `sub`" in text
