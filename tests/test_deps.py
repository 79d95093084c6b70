"""The tested range of the outside-system SDKs, read from the package's own metadata."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from devops_mlops import deps


class Recorder:
    def __init__(self):
        self.warnings: list[str] = []

    def warn(self, message: str, **_where) -> None:
        self.warnings.append(message)


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.setattr(deps, "_warned", set())


def test_the_minimums_are_the_declared_lower_bounds():
    low = deps.minimums()
    assert {"databricks-sdk", "mlflow", "azure-devops", "msrest"} - {"msrest"} <= set(low)
    assert all(low[n] for n in low)


def test_installed_releases_are_within_the_range_and_say_nothing():
    console = Recorder()
    deps.warn_untested(console, "databricks-sdk", "mlflow", "azure-devops")
    assert console.warnings == []


def test_an_older_release_earns_one_warning_line_naming_it(monkeypatch):
    installed = version("databricks-sdk")
    monkeypatch.setattr(deps, "minimums", lambda: {"databricks-sdk": "999.0"})
    console = Recorder()
    deps.warn_untested(console, "databricks-sdk")
    deps.warn_untested(console, "databricks-sdk")  # once per process
    (line,) = console.warnings
    assert f"databricks-sdk {installed}" in line and ">= 999.0" in line and "\n" not in line


def test_an_older_sdk_warns_and_the_command_goes_on(tmp_path, monkeypatch, capsys):
    """Through the CLI: a Databricks command on an SDK older than the range warns, then runs."""
    from devops_mlops.cli import main
    from devops_mlops.testing.databricks_emulator import DatabricksEmulator

    monkeypatch.setattr(deps, "minimums", lambda: {"databricks-sdk": "999.0"})
    from devops_mlops.testing.databricks_emulator import sample_project

    with DatabricksEmulator(token="dapi-deps-1") as emu:
        sample_project(tmp_path, host=emu.url)
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-deps-1")
        with pytest.raises(SystemExit) as exit_:
            main(["--target", "dev", "sync"])
        out, err = capsys.readouterr()
        assert exit_.value.code == 0, err
        assert [line for line in err.splitlines() if "databricks-sdk" in line] == [
            line for line in err.splitlines() if line.startswith("warning: databricks-sdk")]
        assert err.count("is older than the range devops-mlops is tested on") == 1
        assert "/Shared/demo/nb0" in emu.files
