"""`mlops doctor` over the diagnostics and registry ports: the order of the checks, the registry
check skipped when the target's services cannot be used, ready or not."""

from __future__ import annotations

import pandas as pd
import pytest

from devops_mlops.context import Context
from devops_mlops.ops.doctor import doctor
from devops_mlops.ports.diagnostics import FAILED, OK, SKIPPED, Check
from devops_mlops.testing.fakes.diagnostics import FakeDiagnostics
from devops_mlops.testing.fakes.registry import FakeRegistry

pytestmark = pytest.mark.fast


class Mean:
    def predict(self, frame):
        return [0.0] * len(frame)


@pytest.fixture
def ctx(tmp_path):
    (tmp_path / "mlops.yaml").write_text("project: p\nmodel: {name: m}\n")
    ctx = Context.create(config_path=tmp_path / "mlops.yaml")
    ctx.registry = FakeRegistry()
    return ctx


def names(result):
    return [(c.name, c.status) for c in result.checks]


def test_the_embedded_default_has_nothing_to_probe_but_the_registry(ctx):
    result = doctor(ctx)
    assert [n for n, _ in names(result)] == ["versions", "registry"]
    assert "model m is not registered yet" in result.checks[-1].detail
    logged = ctx.registry.log_training_run(Mean(), sample=pd.DataFrame({"x": [1.0]}), experiment="p", run_name="train", params={},
                                           metrics={}, tags={})
    ctx.registry.register(logged.model_uri, "m")
    assert "model m has 1 version(s)" in doctor(ctx).checks[-1].detail


def test_the_targets_checks_come_between_versions_and_registry(ctx):
    ctx.diagnostics = FakeDiagnostics([Check("host", OK, "answers"), Check("identity", FAILED, "no", "log in")])
    result = doctor(ctx)
    assert names(result)[1:] == [("host", OK), ("identity", FAILED), ("registry", OK)]
    assert not result.ok and result.lines()[-1] == f"target {ctx.target.name}: not ready"
    assert "identity" in result.lines()[2] and "fix: log in" in result.lines()[2]


def test_unusable_services_skip_the_registry_check(ctx):
    ctx.diagnostics = FakeDiagnostics([Check("host", FAILED, "refused")], unusable="the host cannot be used")
    result = doctor(ctx)
    assert result.checks[-1] == Check("registry", SKIPPED, "the host cannot be used")
    assert ctx.diagnostics.probes == 1

