"""One customer's data apart from another's, enforced by Postgres: per tenant a loader role that can
write only its own schema and a reader role (the web app's) that can only read it; the pipeline
works as the loader whenever it touches a tenant.

Roles are cluster-wide and outlive test databases, so these tests use fresh tenant ids and drop
their roles afterwards; the pipeline itself copes with roles left by other databases.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
import sqlalchemy as sa

from oktually_pipeline.ingest.log_events import pull_polling
from oktually_pipeline.okta.auth import Secret, SswsAuth
from oktually_pipeline.okta.client import OktaClient
from oktually_pipeline.sandbox import Sandbox, SandboxConfig
from oktually_pipeline.warehouse.engine import create_engine
from oktually_pipeline.warehouse.roles import (
    TenantRoleError,
    ensure_tenant_roles,
    loader_role,
    reader_role,
)
from oktually_pipeline.warehouse.schema import (
    ensure_tenant_schema,
    tenant_schema,
    use_tenant_schema,
)
from oktually_pipeline_tests.databases import new_database

DENIED = "42501"  # insufficient_privilege


def _drop_roles(url: str, roles: list[str]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        existing = [r for r in roles if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (r,)).fetchone()]
        # One at a time: a default ACL naming two of them would be dropped twice (Postgres errs).
        for role in existing:
            conn.execute(f'DROP OWNED BY "{role}" CASCADE')
        for role in existing:
            conn.execute(f'DROP ROLE "{role}"')


@pytest.fixture
def tenants(pg_admin_url: str) -> Iterator[tuple[str, list[str], str]]:
    """A fresh database and three fresh tenant ids; their roles are dropped afterwards."""
    ids = [f"iso{uuid.uuid4().hex[:10]}" for _ in range(3)]
    roles = [r for t in ids for r in (loader_role(t), reader_role(t))]
    with new_database(pg_admin_url) as url:
        try:
            yield url, ids, pg_admin_url
        finally:
            _drop_roles(url, roles)


def _try(conn: psycopg.Connection, role: str, sql: str) -> str | None:
    """Run `sql` as `role`; the SQLSTATE it failed with, or None if it worked."""
    try:
        with conn.transaction():
            conn.execute(f'SET LOCAL ROLE "{role}"')
            conn.execute(sql)
        return None
    except psycopg.Error as exc:
        return exc.sqlstate


def test_each_tenants_roles_reach_only_their_own_schema(tenants: tuple[str, list[str], str]) -> None:
    url, (a, b, _), _ = tenants
    engine = create_engine(url)
    try:
        for t in (a, b):
            ensure_tenant_schema(engine, t)
            with engine.begin() as conn:  # the pipeline's way in: as the tenant's loader
                use_tenant_schema(conn, t)
                conn.execute(sa.text("INSERT INTO ingest_marks (stream, cursor) VALUES ('probe', :t)"), {"t": t})
        sa_, sb_ = tenant_schema(a), tenant_schema(b)
        with psycopg.connect(url, autocommit=True) as conn:
            la, ra = loader_role(a), reader_role(a)
            # Own schema: the loader reads and writes, the reader only reads.
            assert _try(conn, la, f"SELECT * FROM {sa_}.ingest_marks") is None
            assert _try(conn, la, f"INSERT INTO {sa_}.ingest_marks (stream) VALUES ('x')") is None
            assert _try(conn, la, f"CREATE TABLE {sa_}.model_x AS SELECT 1 AS one") is None
            assert _try(conn, ra, f"SELECT * FROM {sa_}.ingest_marks") is None
            assert _try(conn, ra, f"SELECT * FROM {sa_}.model_x") is None  # tables made later too
            for sql in (f"INSERT INTO {sa_}.ingest_marks (stream) VALUES ('y')",
                        f"UPDATE {sa_}.ingest_marks SET cursor = 'z'", f"DELETE FROM {sa_}.ingest_marks",
                        f"TRUNCATE {sa_}.log_events", f"CREATE TABLE {sa_}.evil (x int)",
                        f"DROP TABLE {sa_}.model_x", f"ALTER TABLE {sa_}.users ADD COLUMN evil int"):
                assert _try(conn, ra, sql) == DENIED, sql
            # The other tenant's schema: nothing, for either role.
            for role in (la, ra):
                for sql in (f"SELECT * FROM {sb_}.ingest_marks", f"SELECT count(*) FROM {sb_}.log_events",
                            f"INSERT INTO {sb_}.ingest_marks (stream) VALUES ('x')",
                            f"UPDATE {sb_}.ingest_marks SET cursor = 'x'", f"DELETE FROM {sb_}.users",
                            f"TRUNCATE {sb_}.ingest_marks", f"CREATE TABLE {sb_}.evil (x int)",
                            f"DROP TABLE {sb_}.ingest_marks", "CREATE TABLE public.evil (x int)"):
                    assert _try(conn, role, sql) == DENIED, (role, sql)
            assert conn.execute(f"SELECT cursor FROM {sb_}.ingest_marks WHERE stream = 'probe'").fetchone()[0] == b

        # Inside the pipeline's tenant transaction, even a bug naming another schema is refused.
        with engine.connect() as conn, conn.begin():
            use_tenant_schema(conn, a)
            assert conn.execute(sa.text("SELECT current_user")).scalar() == loader_role(a)
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.text(f"SELECT * FROM {sb_}.ingest_marks"))
    finally:
        engine.dispose()


def test_the_pipeline_loads_as_the_loader_on_shared_connections(tenants: tuple[str, list[str], str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    url, (a, b, _), _ = tenants

    # One pooled connection for both tenants: tenant a's staging tables must not trip tenant b.
    engine = create_engine(url, pool_size=1, max_overflow=0)
    start = datetime.now(timezone.utc) - timedelta(days=2)
    try:
        with Sandbox(SandboxConfig(seed=12, tenants=3, users=30, events=400, days=1)) as sb:
            for t in (a, b, a):
                ensure_tenant_schema(engine, t)
                with OktaClient(sb.url, SswsAuth(Secret(sb.token)), tenant_id=t) as client:
                    pull_polling(client, engine, t, start=start, limit=150)
            truth = sb.events.count()
        with engine.connect() as conn:
            for t in (a, b):
                assert conn.execute(sa.text(f"SELECT count(*) FROM {tenant_schema(t)}.log_events")).scalar() == truth
                owners = set(conn.execute(sa.text("SELECT tableowner FROM pg_tables WHERE schemaname = :s"),
                                          {"s": tenant_schema(t)}).scalars())
                assert owners == {loader_role(t)}
    finally:
        engine.dispose()


def test_roles_are_idempotent_shared_across_databases_and_checked(tenants: tuple[str, list[str], str]) -> None:
    url, (a, _, c), admin_url = tenants
    with new_database(admin_url) as other_url:
        for db in (url, other_url):  # the same tenant in two databases of one cluster
            engine = create_engine(db)
            try:
                assert ensure_tenant_roles(engine, a) == (loader_role(a), reader_role(a))
                ensure_tenant_schema(engine, a)
                ensure_tenant_schema(engine, a)
                ensure_tenant_roles(engine, a)
                with engine.begin() as conn:
                    use_tenant_schema(conn, a)
                    conn.execute(sa.text("INSERT INTO ingest_marks (stream) VALUES ('ok')"))
            finally:
                engine.dispose()
        with psycopg.connect(other_url, autocommit=True) as conn:  # so the roles can be dropped later
            for role in (loader_role(a), reader_role(a)):
                conn.execute(f'DROP OWNED BY "{role}" CASCADE')
    # A role of that name with powers a tenant role must not have is refused, not used.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{loader_role(c)}" CREATEROLE')
    engine = create_engine(url)
    try:
        with pytest.raises(TenantRoleError, match=loader_role(c)):
            ensure_tenant_schema(engine, c)
    finally:
        engine.dispose()


def test_a_non_superuser_pipeline_user_and_the_web_app_login(tenants: tuple[str, list[str], str]) -> None:
    """Production shape: the pipeline logs in as a CREATEROLE user (not a superuser) and the web app
    as a login role granted one tenant's reader."""
    url, (a, b, _), _ = tenants
    user = f"okt_pipe_{uuid.uuid4().hex[:8]}"
    webapp = f"okt_web_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{user}" LOGIN CREATEROLE')
        dbname = conn.info.dbname
        conn.execute(f'GRANT CREATE ON DATABASE "{dbname}" TO "{user}"')
    as_user = url.replace("postgresql://postgres@", f"postgresql://{user}@", 1)
    try:
        try:
            psycopg.connect(as_user, connect_timeout=5).close()
        except psycopg.Error:
            pytest.skip("the test server does not let a new role log in without a password")
        engine = create_engine(as_user)
        try:
            for t in (a, b):
                ensure_tenant_schema(engine, t)
                with engine.begin() as conn:
                    use_tenant_schema(conn, t)
                    conn.execute(sa.text("INSERT INTO ingest_marks (stream) VALUES ('ok')"))
            with engine.connect() as conn, conn.begin():
                use_tenant_schema(conn, a)
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                    conn.execute(sa.text(f"INSERT INTO {tenant_schema(b)}.ingest_marks (stream) VALUES ('x')"))
        finally:
            engine.dispose()

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE ROLE "{webapp}" LOGIN')
            conn.execute(f'GRANT "{reader_role(a)}" TO "{webapp}"')
        with psycopg.connect(url.replace("postgresql://postgres@", f"postgresql://{webapp}@", 1),
                             autocommit=True) as web:
            assert web.execute(f"SELECT count(*) FROM {tenant_schema(a)}.ingest_marks").fetchone()[0] == 1
            for sql in (f"INSERT INTO {tenant_schema(a)}.ingest_marks (stream) VALUES ('x')",
                        f"SELECT * FROM {tenant_schema(b)}.ingest_marks", f'SET ROLE "{loader_role(a)}"',
                        f'SET ROLE "{reader_role(b)}"', f'SET ROLE "{user}"'):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    web.execute(sql)
    finally:
        _drop_roles(url, [user, webapp])
