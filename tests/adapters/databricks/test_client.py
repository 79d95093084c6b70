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
