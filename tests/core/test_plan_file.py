"""The plan document: sealing, the checks that name the field, and what moved."""

import copy

import pytest

from devops_mlops.core import plan_file as pf

pytestmark = pytest.mark.fast

IDENTITY = {"name": "staging", "backend": "databricks", "host": "https://adb-1.net", "project": "p",
            "workspace_dir": "/Shared/p"}


def sealed(**over):
    doc = {"format": pf.FORMAT, "format_version": pf.FORMAT_VERSION, "toolkit_version": "1.0", "command": "deploy",
           "target": dict(IDENTITY), "selection": {"only": None, "prune": False},
           "remote_state": pf.fingerprint({"job 1": {"key": "a", "settings_sha256": "x"}}),
           "jobs": {"actions": [{"op": "update", "key": "a", "job_id": 1, "diff": ["~ name: \"a\" -> \"b\""],
                                 "settings": {"name": "b"}, "reason": "settings differ"}],
                    "foreign_same_name": []},
           "artifacts": [{"file": "p-1.0-py3-none-any.whl", "sha256": "ab" * 32, "path": "/Volumes/c/s/v/x.whl"}]}
    doc.update(over)
    return pf.seal(doc)


def field_of(doc, command="deploy", identity=IDENTITY, version="1.0"):
    with pytest.raises(pf.PlanFileError) as exc:
        pf.check(doc, command, identity, version)
    return exc.value.field


def test_a_sealed_plan_checks_and_its_header_comes_first():
    doc = sealed()
    assert pf.check(copy.deepcopy(doc), "deploy", IDENTITY, "1.0") == doc
    assert list(doc)[:3] == ["format", "format_version", "toolkit_version"] and list(doc)[-1] == "integrity"


@pytest.mark.parametrize("edit, field", [
    (lambda d: d["jobs"]["actions"][0]["settings"].update(name="c"), "jobs.actions[0]"),
    (lambda d: d["target"].update(host="https://adb-2.net"), "target.host"),
    (lambda d: d["artifacts"][0].update(sha256="cd" * 32), "artifacts[0].sha256"),
    (lambda d: d["remote_state"]["items"].clear(), "remote_state.items"),
    (lambda d: d.update(extra=1), "extra"),
    (lambda d: d.pop("artifacts"), "artifacts[0].file"),
    (lambda d: d["integrity"].update(digest="0"), "integrity"),
    (lambda d: d.pop("integrity"), "integrity"),
])
def test_a_hand_edit_is_named_by_its_field(edit, field):
    doc = sealed()
    edit(doc)
    assert field_of(doc) == field


def test_not_ours_other_version_other_command_other_target():
    assert field_of([1, 2]) == "format"
    assert field_of({"format_version": 4, "resource_changes": []}) == "format"
    assert field_of(sealed(format_version=99)) == "format_version"
    assert field_of(sealed(), version="2.0") == "toolkit_version"
    assert field_of(sealed(), command="sync") == "command"
    assert field_of(sealed(), identity={**IDENTITY, "name": "production"}) == "target.name"
    assert field_of(sealed(), identity={**IDENTITY, "workspace_dir": "/Shared/q"}) == "target.workspace_dir"
    no_jobs = sealed()
    del no_jobs["jobs"]
    assert field_of(pf.seal(no_jobs)) == "jobs"


def test_moved_names_each_item():
    before = {"a": 1, "b": 2, "c": 3}
    after = {"a": 1, "b": 5, "d": 4}
    lines = pf.moved(before, after, lambda n, b, a: f"{n}:{b}->{a}")
    assert lines == ["b:2->5", "c:3->None", "d:None->4"]
    assert pf.fingerprint(before)["digest"] == pf.fingerprint(dict(reversed(before.items())))["digest"]
