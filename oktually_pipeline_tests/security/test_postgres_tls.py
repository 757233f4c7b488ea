"""Postgres TLS: `sslmode` (and the other libpq TLS parameters) in OKTUALLY_DATABASE_URL reach libpq
unchanged, so `sslmode=require` / `verify-full` are enforced by libpq itself."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa

from oktually_pipeline.resources import WarehouseResource

SSL_REQUEST = 80877103  # libpq's SSLRequest code; a plain StartupMessage carries 196608 (v3.0)


class FakePostgres:
    """Answers libpq's first message the way a server without TLS does, and records what it was."""

    def __init__(self) -> None:
        self.first_codes: list[int] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    header = conn.recv(8)
                    if len(header) == 8:
                        code = struct.unpack("!ii", header)[1]
                        self.first_codes.append(code)
                        if code == SSL_REQUEST:
                            conn.sendall(b"N")  # "no TLS here"
                            conn.recv(1024)
                except OSError:
                    pass

    def close(self) -> None:
        self._sock.close()


@pytest.fixture
def fake_pg() -> Iterator[FakePostgres]:
    server = FakePostgres()
    yield server
    server.close()


def _engine_from_env(monkeypatch: pytest.MonkeyPatch, url: str) -> sa.Engine:
    monkeypatch.setenv("OKTUALLY_DATABASE_URL", url)
    return WarehouseResource().get_engine()


def test_sslmode_require_reaches_libpq_and_refuses_a_server_without_tls(
        fake_pg: FakePostgres, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql://pipeline@127.0.0.1:{fake_pg.port}/warehouse?sslmode=require&connect_timeout=5"
    engine = _engine_from_env(monkeypatch, url)
    assert engine.url.query["sslmode"] == "require"
    with pytest.raises(sa.exc.OperationalError, match="server does not support SSL, but SSL was required"):
        engine.connect()
    assert fake_pg.first_codes == [SSL_REQUEST]  # libpq asked for TLS first, as sslmode=require says


def test_sslmode_disable_and_verify_full_pass_through_too(fake_pg: FakePostgres, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path) -> None:
    engine = _engine_from_env(monkeypatch, f"postgresql://pipeline@127.0.0.1:{fake_pg.port}/w?sslmode=disable"
                                           "&connect_timeout=5")
    with pytest.raises(sa.exc.OperationalError):
        engine.connect()
    assert fake_pg.first_codes == [196608]  # straight to the startup message: no TLS asked
    root = tmp_path / "root.crt"
    url = (f"postgresql://pipeline@127.0.0.1:{fake_pg.port}/w?sslmode=verify-full&sslrootcert={root}"
           "&connect_timeout=5")
    engine = _engine_from_env(monkeypatch, url)
    assert dict(engine.url.query) == {"sslmode": "verify-full", "sslrootcert": str(root), "connect_timeout": "5"}
    with pytest.raises(sa.exc.OperationalError, match="SSL was required"):
        engine.connect()
    assert fake_pg.first_codes == [196608, SSL_REQUEST]


def test_the_real_test_server_honours_sslmode(pg_admin_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if "host=/" in pg_admin_url or "?host=" in pg_admin_url:
        pytest.skip("the embedded test server listens on a unix socket: no TLS there")
    sep = "&" if "?" in pg_admin_url else "?"
    with psycopg.connect(pg_admin_url) as conn:
        server_ssl = conn.execute("SHOW ssl").fetchone()[0] == "on"
    engine = _engine_from_env(monkeypatch, f"{pg_admin_url}{sep}sslmode=require")
    if server_ssl:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).scalar()
    else:
        with pytest.raises(sa.exc.OperationalError, match="SSL"):
            engine.connect()
    engine.dispose()
