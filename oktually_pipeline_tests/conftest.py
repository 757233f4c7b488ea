"""Shared fixtures: a real Postgres with a fresh database per test, and Dagster test instances.

Tests use the Postgres at 127.0.0.1:5432 (trust auth, user postgres) when one is running, and an
embedded pgserver otherwise. Each test that asks for `database_url` gets its own database, dropped
afterwards, so tests never see each other's tenant schemas. Each test also gets its own
OKTUALLY_HOME, so nothing a test publishes or writes by default lands in the checkout's `.oktually`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from oktually_pipeline.warehouse.engine import create_engine
from oktually_pipeline_tests.databases import new_database

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def own_oktually_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's OKTUALLY_HOME (extracts and embedded data default to it), never the developer's."""
    home = tmp_path_factory.mktemp("oktually_home")
    monkeypatch.setenv("OKTUALLY_HOME", str(home))
    monkeypatch.delenv("OKTUALLY_EXTRACTS_URL", raising=False)
    return home


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL to a maintenance database of a running Postgres server."""
    explicit = os.environ.get("OKTUALLY_TEST_PG_URL")
    if explicit:
        yield explicit
        return
    if _port_open("127.0.0.1", 5432):
        try:
            psycopg.connect(LOCAL_PG, connect_timeout=3).close()
            yield LOCAL_PG
            return
        except psycopg.Error:
            pass
    import pgserver

    data_dir = Path(tmp_path_factory.mktemp("pg")) / "data"
    server = pgserver.get_server(data_dir, cleanup_mode="delete")
    yield f"postgresql://postgres:@/postgres?host={data_dir}"
    server.cleanup()


@pytest.fixture
def database_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for this test."""
    with new_database(pg_admin_url) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    eng = create_engine(database_url)
    yield eng
    eng.dispose()
