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


def test_an_unreachable_host_is_not_retried(monkeypatch):
    import socket
    import time

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("DATABRICKS_TOKEN", "t0ken-value")
    start = time.monotonic()
    with pytest.raises(ServiceError) as exc:
        build_client(SimpleNamespace(host=f"http://127.0.0.1:{port}", profile=None, name="dev"), budget=60)
    assert time.monotonic() - start < 5  # a 60 s budget, and not a second of it spent
    assert f"Databricks target 'dev': cannot reach 127.0.0.1:{port}: connection refused" in exc.value.message
    assert "t0ken-value" not in exc.value.message


def test_only_public_settings_reach_the_sdk(monkeypatch, host):
    """Pool sizes and the retry budget are Config attributes; nothing of the SDK is replaced."""
    from databricks.sdk.config import Config

    monkeypatch.setenv("DATABRICKS_TOKEN", "t0ken-value")
    client = build_client(SimpleNamespace(host=host, profile=None, name="dev"), budget=7)
    assert type(client.config) is Config
    assert client.config.retry_timeout_seconds == 7
    assert client.config.max_connection_pools == client.config.max_connections_per_pool == 32


def test_the_retry_budget_defaults_to_120_s(monkeypatch, host):
    monkeypatch.setenv("DATABRICKS_TOKEN", "t0ken-value")
    assert build_client(SimpleNamespace(host=host, profile=None, name="dev")).config.retry_timeout_seconds == 120
