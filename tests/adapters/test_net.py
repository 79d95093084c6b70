"""Fail fast where nothing can succeed; keep retrying what can (devops_mlops/adapters/net.py).

Every case runs the real CLI in this process (so the suite's network guard is in force: the
`.invalid` host name fails resolution here, without asking any DNS server) against the real
SDKs, and checks the exit code, the one error line and the time it took.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devops_mlops.cli import main
from devops_mlops.testing.azure_devops import AzureDevOpsEmulator
from devops_mlops.testing.databricks_emulator import DatabricksEmulator, sample_project
from devops_mlops.testing.http import Faults

FAST = 15.0  # seconds: the promise for a host nothing can be done with
PAT = "net-pat-4242"
PIPE = "steps:\n- script: x\n"


@pytest.fixture(autouse=True, scope="module")
def _imported():
    """The clocks below time the error, not Python importing the SDKs (seconds on a busy machine)."""
    import azure.devops.connection  # noqa: F401
    import databricks.sdk  # noqa: F401

    import devops_mlops.adapters.databricks.workspace  # noqa: F401
    import devops_mlops.cli.azure_devops  # noqa: F401
    import devops_mlops.cli.sync  # noqa: F401
    import devops_mlops.ops.azure_devops_setup  # noqa: F401


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    """An https server on loopback whose certificate nobody trusts."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")

    class Quiet(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()


def unreachable_hosts(tls: str) -> dict[str, tuple[str, str]]:
    """case -> (scheme://host, what the error must say)."""
    return {
        "refused": (f"http://127.0.0.1:{_closed_port()}", "connection refused"),
        "dns": ("http://workspace.mlops-test.invalid", "does not resolve"),
        "tls": (f"https://{tls}", "TLS handshake failed"),
    }


def run(args, capsys):
    start = time.monotonic()
    with pytest.raises(SystemExit) as exit_:
        main(args)
    out, err = capsys.readouterr()
    return exit_.value.code, out, err, time.monotonic() - start


@pytest.mark.parametrize("case", ["refused", "dns", "tls"])
def test_databricks_host_nothing_can_reach_fails_within_15_s(case, tmp_path, monkeypatch, capsys, self_signed):
    url, says = unreachable_hosts(self_signed)[case]
    sample_project(tmp_path, host=url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-net-1")
    code, out, err, elapsed = run(["--target", "dev", "sync"], capsys)
    assert code == 2, err
    assert elapsed < FAST
    host = url.split("://")[1]
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert f"cannot reach {host}" in err and says in err and "host in mlops.yaml" in err
    assert out == "" and "dapi-net-1" not in err


def test_databricks_without_a_pat_probes_host_metadata_once_quickly(tmp_path, monkeypatch, capsys):
    """With OAuth the SDK's /.well-known probe still runs, but one short try, not the whole budget."""
    sample_project(tmp_path, host=f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.chdir(tmp_path)
    for var, value in {"DATABRICKS_CLIENT_ID": "sp", "DATABRICKS_CLIENT_SECRET": "sp-secret-77"}.items():
        monkeypatch.setenv(var, value)
    code, _, err, elapsed = run(["--target", "dev", "sync"], capsys)
    assert code == 2 and elapsed < FAST
    assert err.count("\n") == 1 and "Databricks target 'dev': cannot reach 127.0.0.1:" in err
    assert "connection refused" in err and "host metadata" not in err and "sp-secret-77" not in err


@pytest.fixture
def ado_project(tmp_path, monkeypatch):
    def make(url: str, project: str = "ml"):
        (tmp_path / "azure-pipelines").mkdir(exist_ok=True)
        for name in ("pr", "release", "monitoring"):
            (tmp_path / "azure-pipelines" / f"{name}.yml").write_text(PIPE)
        (tmp_path / "mlops.yaml").write_text(
            f"project: churn\nmodel: {{name: m}}\nscm:\n  azure_devops: {{organization_url: '{url}', "
            f"project: {project}, repository: models}}\n")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("AZURE_DEVOPS_EXT_PAT", PAT)
    return make


@pytest.mark.parametrize("case", ["refused", "dns", "tls"])
def test_azure_devops_host_nothing_can_reach_fails_within_15_s(case, ado_project, capsys, self_signed):
    url, says = unreachable_hosts(self_signed)[case]
    ado_project(url + "/contoso")
    code, out, err, elapsed = run(["azure-devops", "setup", "--dry-run"], capsys)
    assert code == 2, err
    assert elapsed < FAST
    assert err.count("\n") == 1 and f"cannot reach Azure DevOps at {url}/contoso" in err and says in err
    assert "Traceback" not in err and PAT not in out + err


def test_databricks_throttling_unavailability_and_resets_are_retried_until_done(tmp_path, monkeypatch, capsys):
    faults = Faults(script=["throttle", "503", "reset"], retry_after=1)
    with DatabricksEmulator(token="dapi-net-2", faults=faults) as emu:
        sample_project(tmp_path, host=emu.url)
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-net-2")
        code, out, err, _ = run(["--target", "dev", "sync"], capsys)
        assert code == 0, err
        assert [f for _, _, f in emu.faults_injected] == ["throttle", "503", "reset"]
        assert sorted(emu.files) == ["/Shared/demo/.mlops-sync.json", "/Shared/demo/mlops.yaml",  # the runtime reads it
                                     "/Shared/demo/nb0", "/Shared/demo/nb1", "/Shared/demo/nb2"]
        code, out, err, _ = run(["--target", "dev", "--format", "json", "sync"], capsys)
        assert code == 0 and '"create"' not in out  # converged: nothing left to do


def test_databricks_never_ending_503_stops_at_the_budget(tmp_path, monkeypatch, capsys):
    with DatabricksEmulator(token="dapi-net-3", faults=Faults(rate=1.0, kinds=("503",))) as emu:
        sample_project(tmp_path, host=emu.url)
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-net-3")
        code, _, err, elapsed = run(["--timeout", "1", "--target", "dev", "sync"], capsys)
    assert code == 2 and 1 <= elapsed < 1 + 6, (elapsed, err)
    assert err.count("\n") == 1 and "still failing after retrying for 0:00:01" in err
    assert "TemporarilyUnavailable" in err and "--timeout" in err and "retry_timeout" in err
    assert len(emu.requests) >= 2  # it did retry


def test_the_target_retry_timeout_is_the_budget_and_timeout_overrides_it(tmp_path, monkeypatch, capsys):
    with DatabricksEmulator(token="dapi-net-4", faults=Faults(rate=1.0, kinds=("503",))) as emu:
        sample_project(tmp_path, host=emu.url)
        text = (tmp_path / "mlops.yaml").read_text().replace("    workspace_dir: /Shared/demo\n",
                                                             "    workspace_dir: /Shared/demo\n    retry_timeout: 2\n", 1)
        (tmp_path / "mlops.yaml").write_text(text)
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-net-4")
        code, _, err, elapsed = run(["--target", "dev", "sync"], capsys)
        assert code == 2 and "0:00:02" in err and elapsed < 2 + 6
        code, _, err, elapsed = run(["--target", "dev", "--timeout", "1", "sync"], capsys)
        assert code == 2 and "0:00:01" in err and elapsed < 1 + 6
    (tmp_path / "mlops.yaml").write_text(text.replace("retry_timeout: 2", "retry_timeout: 0"))
    code, _, err, _ = run(["--target", "dev", "sync"], capsys)
    assert code == 2 and "mlops.yaml:" in err and "retry_timeout" in err


def test_azure_devops_faults_are_retried_and_a_never_ending_503_stops_at_the_budget(ado_project, capsys):
    faults = Faults(script=["throttle", "503", "reset", "503"], methods=("GET", "OPTIONS"), retry_after=1)
    with AzureDevOpsEmulator(token=PAT, faults=faults) as emu:
        emu.add_project("ml")
        emu.add_repository("ml", "models")
        ado_project(emu.org_url)
        code, out, err, _ = run(["azure-devops", "setup", "--dry-run"], capsys)
        assert code == 0, err
        assert [f for _, _, f in emu.faults_injected] == ["throttle", "503", "reset", "503"]
        emu.faults = Faults(rate=1.0, kinds=("503",), methods=("GET", "OPTIONS"))
        code, _, err, elapsed = run(["--timeout", "1", "azure-devops", "setup", "--dry-run"], capsys)
    assert code == 2 and 1 <= elapsed < 1 + 6, (elapsed, err)
    assert err.count("\n") == 1 and "answered 503" in err and "also after retrying" in err and "--timeout" in err
