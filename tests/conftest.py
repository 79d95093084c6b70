"""Guards for the whole suite: no network beyond loopback, no real home folder,
no stray credentials from the developer's environment."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo

CREDENTIAL_VARS = (
    "DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET",
    "DATABRICKS_CONFIG_PROFILE", "DATABRICKS_AUTH_TYPE",
    "ARM_CLIENT_ID", "ARM_CLIENT_SECRET", "ARM_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID", "SYSTEM_ACCESSTOKEN", "AZURE_DEVOPS_EXT_PAT", "TF_BUILD", "BUILD_SOURCEVERSION",
    "SYSTEM_COLLECTIONURI", "SYSTEM_TEAMPROJECT", "BUILD_REPOSITORY_NAME", "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
)


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
        raise OSError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
        raise OSError(f"test tried to reach the network: {address!r}")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if host not in (None, "localhost", "127.0.0.1", "::1", b"localhost") and not str(host).startswith("127."):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise socket.gaierror(f"test tried to resolve {host!r}") from None
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True, scope="session")
def _no_network():
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    socket.getaddrinfo = _guarded_getaddrinfo
    yield
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex
    socket.getaddrinfo = _real_getaddrinfo


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Author")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "author@example.invalid")
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(home / ".databrickscfg"))
    for var in CREDENTIAL_VARS:
        monkeypatch.delenv(var, raising=False)
    mlflow_env = {k: v for k, v in os.environ.items() if k.startswith("MLFLOW_")}
    yield
    _reset_mlflow_process_state(mlflow_env)


def _reset_mlflow_process_state(before: dict[str, str]) -> None:
    """What a test's in-process MLflow use leaves behind must not reach the next test: set_experiment
    exports MLFLOW_EXPERIMENT_ID, and the fluent API keeps the tracking and registry URIs (of a
    server the test has stopped, or of its temporary sqlite file) for the whole process."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None:
        try:
            while mlflow.active_run() is not None:
                mlflow.end_run()
        except Exception:  # noqa: BLE001 - the store of a finished test may be gone
            pass
        mlflow.set_tracking_uri(None)  # None: back to the default (also resets the tracer provider)
        mlflow.set_registry_uri(None)
        fluent = sys.modules["mlflow.tracking.fluent"]
        fluent._active_experiment_id = None  # set_experiment's choice: MLflow has no public reset
    for name in [k for k in os.environ if k.startswith("MLFLOW_") and k not in before]:
        del os.environ[name]
    os.environ.update(before)


class FastTierViolation(AssertionError):
    """A test of the fast tier started a process or opened a socket: it belongs in the full tier."""


def _refuse(what: str):
    def refuse(*args, **kwargs):
        raise FastTierViolation(f"a test marked fast {what}; drop its fast mark (docs/DEVELOPING.md, 'Test tiers')")

    return refuse


@pytest.fixture(autouse=True)
def _fast_tier_guard(request, monkeypatch):
    """A test marked ``fast`` may not start a process (kernel, server, CLI, git, Spark) nor bind or
    connect a socket (emulator, MLflow server): the fast tier stays fast by construction."""
    if request.node.get_closest_marker("fast") is None:
        yield
        return
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("started a process"))
    for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, _refuse(f"called os.{name}"))
    monkeypatch.setattr(socket.socket, "bind", _refuse("bound a socket"))
    monkeypatch.setattr(socket.socket, "connect", _refuse("opened a connection"))
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse("opened a connection"))
    yield


@pytest.fixture(scope="session")
def spark():
    """The suite's one SparkSession: this process's local Spark engine (started once, ~10 s)."""
    from devops_mlops.kernel import spark as engine

    return engine.session()


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)
    # files with a slow test go first (their own order kept): in the parallel run a file goes to one
    # worker, and the longest file started last would end the run alone
    slow_files = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.path not in slow_files)


def pytest_unconfigure(config):
    # py4j closes its gateway connections from __del__ while the interpreter shuts down, after
    # pytest closed the captured streams; its INFO line then fails to print ("--- Logging error ---")
    import logging

    logging.getLogger("py4j").setLevel(logging.ERROR)
