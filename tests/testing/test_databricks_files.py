"""The emulator's Files API (Unity Catalog volumes) through the real SDK client."""

import io

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound, PermissionDenied
from databricks.sdk.service.files import FilesAPI

from devops_mlops.testing.databricks_emulator import DatabricksEmulator


@pytest.fixture
def files():
    with DatabricksEmulator(token="dapi-f") as emu:
        emu.volumes.add_volume("main.ml.vol")
        yield emu, FilesAPI(WorkspaceClient(host=emu.url, token="dapi-f").api_client)


def test_put_head_get_list_delete(files):
    emu, api = files
    path = "/Volumes/main/ml/vol/a b/x.whl"
    api.upload(path, io.BytesIO(b"wheel bytes"), overwrite=True)
    assert emu.volumes.files[path] == b"wheel bytes"
    meta = api.get_metadata(path)
    assert meta.content_length == 11 and meta.content_type == "application/octet-stream" and meta.last_modified
    assert api.download(path).contents.read() == b"wheel bytes"
    assert [(e.name, e.is_directory) for e in api.list_directory_contents("/Volumes/main/ml/vol")] == [("a b", True)]
    with pytest.raises(Exception, match="already exists"):
        api.upload(path, io.BytesIO(b"other"), overwrite=False)
    api.delete(path)
    with pytest.raises(NotFound):
        api.get_metadata(path)
    assert emu.volumes.bytes_written() == 11 + 5


def test_unknown_volume_and_denied_writes(files):
    emu, api = files
    with pytest.raises(NotFound, match="does not exist"):
        api.upload("/Volumes/main/ml/other/x", io.BytesIO(b"x"), overwrite=True)
    emu.volumes.deny("/Volumes/main/ml/vol/locked")
    with pytest.raises(PermissionDenied, match="WRITE VOLUME"):
        api.upload("/Volumes/main/ml/vol/locked/x", io.BytesIO(b"x"), overwrite=True)
    api.upload("/Volumes/main/ml/vol/open/x", io.BytesIO(b"x"), overwrite=True)  # elsewhere: fine
    assert list(emu.volumes.files) == ["/Volumes/main/ml/vol/open/x"]
