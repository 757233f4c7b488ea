"""The Postgres side of a publish: one consistent snapshot of a tenant, and one publisher at a time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa

from oktually_pipeline.extracts.arrow_schema import quote_ident, safe_table_name
from oktually_pipeline.extracts.manifest import DayStats
from oktually_pipeline.warehouse.schema import quoted_schema, tenant_schema

LOG_EVENTS = "log_events"
# Pipeline bookkeeping, not data: the marks go into the manifest instead, child_sync stays home.
INTERNAL_TABLES = frozenset({"ingest_marks", "child_sync"})

_DAY_STATS_SQL = """
SELECT to_char((published AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day,
       count(*) AS n,
       -- order-independent sum of 60-bit slices of md5(uuid): portable across Postgres versions
       sum(('x' || substr(md5(uuid), 1, 15))::bit(60)::bigint)::text AS checksum
FROM {table}
GROUP BY 1
ORDER BY 1
"""


class PublishInProgressError(RuntimeError):
    """Another publish of the same tenant held the lock for longer than we were willing to wait."""


@contextmanager
def tenant_publish_lock(engine: sa.Engine, tenant_id: str, wait_seconds: float = 600) -> Iterator[None]:
    """Hold a Postgres session advisory lock for the tenant's extract for the whole publish.

    Two publishes of one tenant would otherwise each delete the other's unlisted files, and an
    older snapshot could overwrite a newer manifest. The lock lives on its own autocommit
    connection so that waiting for it never ages the snapshot taken afterwards; it is released
    when the connection closes, also if the process dies.
    """
    key = f"oktually:extract:{tenant_schema(tenant_id)}"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        deadline = time.monotonic() + wait_seconds
        try_lock = sa.text("SELECT pg_try_advisory_lock(hashtextextended(:k, 0))")
        while not conn.execute(try_lock, {"k": key}).scalar_one():
            if time.monotonic() > deadline:
                raise PublishInProgressError(
                    f"another extract publish of tenant {tenant_id!r} is still running "
                    f"(waited {wait_seconds:.0f} s)"
                )
            time.sleep(0.5)
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), {"k": key})


@contextmanager
def snapshot(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A REPEATABLE READ, READ ONLY transaction: every table is read as of one instant."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            # Text renderings of timestamps (in arrays, JSON) then come out in UTC too.
            conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
            yield conn


def snapshot_time(conn: sa.Connection) -> datetime:
    """The transaction's start time, which is when its snapshot was taken (to the millisecond)."""
    return conn.execute(sa.text("SELECT now()")).scalar_one()


def tenant_tables(conn: sa.Connection, tenant_id: str, wanted: list[str] | None) -> list[str]:
    """The tables to extract: `wanted` (checked to exist), or every base table but bookkeeping."""
    schema = tenant_schema(tenant_id)
    if not conn.execute(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}).first():
        raise LookupError(f"tenant {tenant_id!r} has no warehouse schema {schema} yet")
    existing = list(conn.execute(sa.text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :s AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname"
    ), {"s": schema}).scalars())
    if wanted is None:
        return [safe_table_name(t) for t in existing if t not in INTERNAL_TABLES]
    missing = sorted(set(wanted) - set(existing))
    if missing:
        raise LookupError(f"tenant {tenant_id!r}: no table(s) {missing} in {schema}")
    return [safe_table_name(t) for t in dict.fromkeys(wanted)]


def log_events_mark(conn: sa.Connection, tenant_id: str) -> datetime | None:
    """`ingest_marks.mark` for the System Log stream, as of the snapshot (None if never read)."""
    table = f"{quoted_schema(tenant_id)}.ingest_marks"
    if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": table}).scalar_one() is None:
        return None
    return conn.execute(
        sa.text(f"SELECT mark FROM {table} WHERE stream = :s"), {"s": LOG_EVENTS}
    ).scalar_one_or_none()


def primary_key(conn: sa.Connection, tenant_id: str, table: str) -> list[str]:
    """The table's primary-key columns, in key order (extract files are sorted by them)."""
    return list(conn.execute(sa.text(
        "SELECT a.attname FROM pg_index i "
        "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = to_regclass(:t) AND i.indisprimary ORDER BY k.ord"
    ), {"t": f"{quoted_schema(tenant_id)}.{quote_ident(table)}"}).scalars())


def log_event_days(conn: sa.Connection, tenant_id: str) -> dict[str, DayStats]:
    """Rows and a uuid checksum per UTC day of `published`: what decides which days to rewrite."""
    table = f"{quoted_schema(tenant_id)}.{LOG_EVENTS}"
    rows = conn.execute(sa.text(_DAY_STATS_SQL.format(table=table))).all()
    return {r.day: DayStats(r.n, r.checksum) for r in rows}
