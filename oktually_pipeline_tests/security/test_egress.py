"""Egress: requests to a real (https) org go through $HTTPS_PROXY, so a customer can allow-list one
address; requests to a loopback sandbox never do; TLS certificates are always verified."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from oktually_pipeline.okta.auth import Secret, SswsAuth
from oktually_pipeline.okta.client import OktaClient
from oktually_pipeline.okta.egress import client_settings, proxy_for
from oktually_pipeline.okta.errors import OktaUnavailableError
from oktually_pipeline.okta.oauth import ServiceAppAuth, load_signing_key
from oktually_pipeline.sandbox import Sandbox, SandboxConfig
from oktually_pipeline_tests.security.keys import pem, rsa_key

PACKAGE = Path(__file__).resolve().parents[2] / "oktually_pipeline"
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
              "NO_PROXY", "no_proxy", "SSL_CERT_FILE")


class RecordingProxy:
    """A forward proxy that writes down every request line and refuses to connect anywhere."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    self.lines.append(data.split(b"\r\n", 1)[0].decode("latin-1"))
                    conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self._sock.close()


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingProxy]:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    p = RecordingProxy()
    yield p
    p.close()


def test_proxy_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    assert proxy_for("https://acme.okta.com") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://egress.internal:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://egress.internal:3128")
    monkeypatch.setenv("ALL_PROXY", "http://egress.internal:3128")
    assert proxy_for("https://acme.okta.com") == "http://egress.internal:3128"
    for loopback in ("http://127.0.0.1:8010", "http://localhost:8010", "http://[::1]:8010", "https://127.0.0.1:9"):
        assert proxy_for(loopback) is None
        assert client_settings(loopback, proxy="http://explicit:1")["proxy"] is None
    monkeypatch.setenv("NO_PROXY", ".okta.com")
    assert proxy_for("https://acme.okta.com") is None and proxy_for("https://acme.oktapreview.com")
    settings = client_settings("https://acme.okta.com")
    assert settings["trust_env"] is False and settings["verify"] is not False


def test_https_org_goes_through_the_egress_proxy(proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    with OktaClient("https://acme.okta.com", SswsAuth(Secret("00proxy-test-token-xxxxxxxx")), tenant_id="acme",
                    max_attempts=1) as client, pytest.raises(OktaUnavailableError):
        client.get_page("/api/v1/users")
    # The OAuth token request takes the same way out.
    auth = ServiceAppAuth("https://acme.okta.com", "0oaproxy", load_signing_key(pem(rsa_key())),
                          ["okta.users.read"], tenant_id="acme", max_attempts=1)
    with pytest.raises(OktaUnavailableError):
        auth._access_token()
    assert proxy.lines == ["CONNECT acme.okta.com:443 HTTP/1.1"] * 2  # a tunnel: the token stays in TLS


def test_loopback_sandbox_never_uses_the_proxy(proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, proxy.url)
    with Sandbox(SandboxConfig(seed=2, tenants=3, users=20, events=50, days=1)) as sb:
        with OktaClient(sb.url, SswsAuth(Secret(sb.token)), tenant_id="acme") as client:
            assert list(client.iter_items("/api/v1/users"))
        assert sb.stats.total > 0
    assert proxy.lines == []


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _Users(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = b"[]"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_tls_verification_is_never_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    cert, key = _self_signed(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Users)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://localhost:{server.server_address[1]}"
    try:
        # Self-signed, even on loopback: refused at once, not retried, with a clear reason.
        with OktaClient(url, SswsAuth(Secret("00tls-test-token-xxxxxxxxxx")), tenant_id="acme",
                        max_attempts=5) as client, pytest.raises(OktaUnavailableError) as err:
            client.get_page("/api/v1/users")
        assert "TLS certificate verification failed for localhost" in str(err.value)
        assert client.requests_sent == 1
        # Trusting that certificate explicitly (a TLS-inspecting proxy's CA) makes it work: the
        # failure above was verification, and SSL_CERT_FILE adds trust without turning checks off.
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        with OktaClient(url, SswsAuth(Secret("00tls-test-token-xxxxxxxxxx")), tenant_id="acme") as client:
            assert client.get_page("/api/v1/users").items == []
    finally:
        server.shutdown()
        server.server_close()


def test_no_code_turns_tls_verification_off() -> None:
    pattern = re.compile(r"verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|_create_unverified_context"
                         r"|PYTHONHTTPSVERIFY|InsecureRequestWarning")
    offenders = [f"{p.relative_to(PACKAGE.parent)}:{i}" for p in PACKAGE.rglob("*.py")
                 for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []
