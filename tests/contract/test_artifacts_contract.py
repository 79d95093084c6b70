"""The artifact store port's contract, over the local adapter (a folder), the Databricks adapter
against the emulator (a Unity Catalog volume through the Files API, and a workspace folder) and
the in-memory fake (devops_mlops/testing/fakes/artifacts.py)."""

from types import SimpleNamespace

import pytest

from devops_mlops.adapters.local.artifacts import LocalArtifactStore
from devops_mlops.errors import CheckFailed
from devops_mlops.testing.fakes.artifacts import FakeArtifactStore

TOKEN = "dapi-artifacts-contract"
VOLUME = "/Volumes/main/ml/artifacts"
FOLDER = "/Workspace/Shared/demo/artifacts"


@pytest.fixture(params=["local", "volume", "workspace-folder", pytest.param("fake", marks=pytest.mark.fast)])
def case(request, tmp_path, monkeypatch):
    """(store, folder the tests write under, a folder the identity may not write or None)."""
    if request.param == "fake":
        yield FakeArtifactStore(denied=("/Volumes/main/locked",)), VOLUME, "/Volumes/main/locked/x"
        return
    if request.param == "local":
        yield LocalArtifactStore(tmp_path / "store"), VOLUME, None
        return
    from devops_mlops.adapters.databricks.artifacts import ArtifactStore
    from devops_mlops.adapters.databricks.client import build_client
    from devops_mlops.adapters.databricks.workspace import DatabricksWorkspace
    from devops_mlops.testing.databricks_emulator import DatabricksEmulator

    with DatabricksEmulator(token=TOKEN) as emu:
        monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
        emu.volumes.add_volume("main.ml.artifacts")
        emu.volumes.add_volume("main.ml.locked")
        emu.volumes.deny("/Volumes/main/ml/locked")
        client = build_client(SimpleNamespace(host=emu.url, profile=None, name="t"))
        store = ArtifactStore(client, DatabricksWorkspace(client))
        if request.param == "volume":
            yield store, VOLUME, "/Volumes/main/ml/locked/x.whl"
        else:
            yield store, FOLDER, None


def test_nothing_there(case):
    store, folder, _ = case
    assert store.size(f"{folder}/0123456789abcdef/missing.whl") is None
    assert store.read(f"{folder}/0123456789abcdef/missing.whl") is None


def test_put_then_size_and_read_back(case):
    store, folder, _ = case
    path = f"{folder}/0123456789abcdef/demo-0.1.0-py3-none-any.whl"
    store.put(path, b"PK\x03\x04 first")
    assert store.size(path) == len(b"PK\x03\x04 first")
    store.put(path, b"PK\x03\x04 second, longer")  # replaced whole
    assert store.size(path) == len(b"PK\x03\x04 second, longer")
    assert store.read(path) == b"PK\x03\x04 second, longer"


def test_a_write_the_identity_may_not_make_names_the_grant(case):
    store, _, denied = case
    if denied is None:
        pytest.skip("this store has no permissions to deny")
    with pytest.raises(CheckFailed, match="permission denied") as err:
        store.put(denied, b"x")
    assert err.value.hint
