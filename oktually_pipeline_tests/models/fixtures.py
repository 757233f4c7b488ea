"""Databases for the model and check tests: one per module, not one per test.

CREATE DATABASE forces a checkpoint, which costs seconds on a busy server; tests that change data
get a clean slate by dropping the tenant schemas instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa

from oktually_pipeline.warehouse.engine import create_engine


def database_url_of(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=False).replace("+psycopg", "")


def _module_database(pg_admin_url: str) -> Iterator[sa.Engine]:
    name = f"okt_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, query = pg_admin_url.partition("?")
    engine = create_engine(f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else ""))
    yield engine
    engine.dispose()
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def module_engine(pg_admin_url: str) -> Iterator[sa.Engine]:
    """A database shared by one module's read-only tests."""
    yield from _module_database(pg_admin_url)


@pytest.fixture(scope="module")
def _scratch_database(pg_admin_url: str) -> Iterator[sa.Engine]:
    yield from _module_database(pg_admin_url)


@pytest.fixture
def scratch_engine(_scratch_database: sa.Engine) -> sa.Engine:
    """A database with no tenant schemas, for a test that changes data (shared within the module)."""
    with _scratch_database.begin() as conn:
        schemas = conn.execute(sa.text(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'okta\\_%'")).scalars().all()
        for schema in schemas:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    return _scratch_database
