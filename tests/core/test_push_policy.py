"""Who decides whether a commit is pushed (core.push_policy), over a real mlops.yaml."""

from __future__ import annotations

import pytest

from devops_mlops.config import load_config
from devops_mlops.core.push_policy import decide

pytestmark = pytest.mark.fast

BASE = """project: p
model: {name: m}
targets:
  local: {backend: local, default: true}
  dev: {backend: databricks, workspace_dir: /Shared/p}
"""


def config(tmp_path, extra: str = ""):
    (tmp_path / "mlops.yaml").write_text(BASE + extra)
    return load_config(tmp_path / "mlops.yaml")


@pytest.mark.parametrize(
    ("extra", "target", "override", "explicit", "push", "reason"),
    [
        ("", "local", None, False, False, "target local has backend: local"),
        ("", "dev", None, False, True, "target dev has backend: databricks"),
        ("", "local", None, True, True, "mlops commit pushes"),
        ("", "local", True, False, True, "--push"),
        ("", "dev", False, True, False, "--no-push"),
        ("scm: {push: true}\n", "local", None, False, True, "scm.push: true"),
        ("scm: {push: false}\n", "dev", None, False, False, "scm.push: false"),
        ("scm: {push: false}\n", "local", None, True, False, "scm.push: false"),
        ("scm: {push: false}\n", "local", True, False, True, "--push"),
    ],
)
def test_the_first_that_is_set_decides(tmp_path, extra, target, override, explicit, push, reason):
    cfg = config(tmp_path, extra)
    decision = decide(cfg, cfg.target(target), override, explicit=explicit)
    assert (decision.push, decision.reason) == (push, reason)


def test_a_target_overrides_the_project(tmp_path):
    (tmp_path / "mlops.yaml").write_text(
        "project: p\nmodel: {name: m}\nscm: {push: true}\n"
        "targets:\n  local: {default: true, scm: {push: false}}\n  other: {}\n")
    cfg = load_config(tmp_path / "mlops.yaml")
    assert decide(cfg, cfg.target("local")).reason == "targets.local.scm.push: false"
    assert decide(cfg, cfg.target("other")).push is True
    assert decide(cfg, cfg.target("local"), True).push is True
    assert "--push" in decide(cfg, cfg.target("local")).not_pushed_hint()
    assert decide(cfg, cfg.target("local"), False).not_pushed_hint() == "run without --no-push to push"


def test_a_bad_value_names_the_line(tmp_path):
    from devops_mlops.errors import ConfigError

    (tmp_path / "mlops.yaml").write_text("project: p\nmodel: {name: m}\nscm:\n  push: maybe\n")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "mlops.yaml")
    assert "mlops.yaml:4" in err.value.one_line() and "scm.push" in err.value.one_line()
