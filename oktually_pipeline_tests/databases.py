"""Fresh Postgres databases for tests: each test's warehouse (or Dagster storage) is its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


def with_database(admin_url: str, name: str) -> str:
    """`admin_url` pointing at database `name` instead (query string kept)."""
    base, _, query = admin_url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@contextmanager
def new_database(admin_url: str) -> Iterator[str]:
    """A fresh, empty database on the server of `admin_url`, dropped afterwards."""
    name = f"okt_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
