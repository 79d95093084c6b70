from types import SimpleNamespace

import pytest

from devops_mlops.adapters.databricks.client import build_client
from devops_mlops.errors import ServiceError
from devops_mlops.testing.databricks_emulator import DatabricksEmulator


@pytest.fixture
def host():
    with DatabricksEmulator() as emu:
        yield emu.url


def test_two_auth_methods_name_the_fix(monkeypatch, host):
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-a")
    monkeypatch.setenv("ARM_CLIENT_SECRET", "secret-b")
    monkeypatch.setenv("ARM_CLIENT_ID", "id")
    monkeypatch.setenv("ARM_TENANT_ID", "tenant")
    with pytest.raises(ServiceError) as exc:
        build_client(SimpleNamespace(host=host, profile=None, name="dev"))
    assert "unset ARM_CLIENT_SECRET" in exc.value.hint and "DATABRICKS_AUTH_TYPE=pat" in exc.value.hint


def test_no_credentials(monkeypatch, host):
    with pytest.raises(ServiceError) as exc:
        build_client(SimpleNamespace(host=host, profile=None, name="dev"))
    assert "DATABRICKS_TOKEN" in exc.value.hint


def test_an_unreachable_host_gives_up_after_the_retry_budget(monkeypatch):
    import socket

    from devops_mlops.adapters.databricks.workspace import DatabricksWorkspace

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("DATABRICKS_TOKEN", "t0ken-value")
    monkeypatch.setenv("MLOPS_DATABRICKS_RETRY_TIMEOUT", "1")
    client = build_client(SimpleNamespace(host=f"http://127.0.0.1:{port}", profile=None, name="dev"))
    assert client.config.retry_timeout_seconds == 1
    with pytest.raises(ServiceError) as exc:
        DatabricksWorkspace(client).list("/Shared")
    assert "could not be reached" in exc.value.message


def test_a_bad_retry_budget_is_a_clear_error(monkeypatch, host):
    monkeypatch.setenv("DATABRICKS_TOKEN", "t0ken-value")
    monkeypatch.setenv("MLOPS_DATABRICKS_RETRY_TIMEOUT", "soon")
    with pytest.raises(ServiceError, match="MLOPS_DATABRICKS_RETRY_TIMEOUT"):
        build_client(SimpleNamespace(host=host, profile=None, name="dev"))
