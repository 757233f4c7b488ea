"""Per-tenant Postgres schemas: `okta_<tenant id>`, created and migrated from sql/schema/."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from oktually_pipeline.tenants import validate_tenant_id
from oktually_pipeline.warehouse.roles import grant_tenant_roles, switch_to_loader_sql
from oktually_pipeline.warehouse.sqlfiles import load_sql, sql_files


def tenant_schema(tenant_id: str) -> str:
    """The schema that holds a tenant's tables. The id is validated before it becomes a name."""
    return f"okta_{validate_tenant_id(tenant_id)}"


def quoted_schema(tenant_id: str) -> str:
    # The validated id is [a-z0-9_] only; quoting keeps it an identifier whatever the keyword list.
    return f'"{tenant_schema(tenant_id)}"'


def use_tenant_schema(conn: sa.Connection, tenant_id: str) -> None:
    """For the rest of this transaction: act as the tenant's loader role, which can write only this
    tenant's schema (warehouse/roles.py), with unqualified names pointing at that schema.

    The schema and its roles must exist (`ensure_tenant_schema`).
    """
    conn.exec_driver_sql(switch_to_loader_sql(tenant_id))


# Rows a load must have changed before it refreshes the table's planner statistics itself.
BULK_CHANGE_ROWS = 5_000


def refresh_statistics(engine: sa.Engine, tenant_id: str, table: str, changed_rows: int,
                       columns: Sequence[str] = ()) -> bool:
    """ANALYZE the tenant's `table` after a load that changed at least BULK_CHANGE_ROWS rows.

    The models run right after the loads. After a bulk load the planner still has the statistics of
    a nearly empty table until autovacuum gets round to it, and a plan built on those can take
    minutes where seconds would do (tenant_app_entitlements at 2M memberships: 65 s against 0.3 s).
    With `columns`, only those get statistics now (and the row count, which every ANALYZE sets);
    autovacuum's own ANALYZE, all columns, comes later. `table` and `columns` are code constants,
    never input. Returns whether it analysed.
    """
    if changed_rows < BULK_CHANGE_ROWS:
        return False
    with engine.connect() as conn, conn.begin():
        use_tenant_schema(conn, tenant_id)
        conn.exec_driver_sql(f"ANALYZE {table}" + (f" ({', '.join(columns)})" if columns else ""))
    return True


def _search_path(conn: sa.Connection, tenant_id: str) -> None:
    conn.exec_driver_sql(f"SET LOCAL search_path TO {quoted_schema(tenant_id)}, pg_catalog, pg_temp")


# (database, tenant, DDL) already applied by this process: every asset of a run calls
# ensure_tenant_schema, and re-applying all the DDL costs far more than checking the schema exists.
_ensured: set[tuple[str, str, int]] = set()


def ensure_tenant_schema(engine: sa.Engine, tenant_id: str) -> None:
    """Create the tenant's schema, apply every sql/schema/*.sql file (each is idempotent), and
    create the tenant's loader and reader roles with their grants (warehouse/roles.py)."""
    schema = tenant_schema(tenant_id)
    ddl = tuple(load_sql(name) for name in sql_files("schema"))
    key = (engine.url.render_as_string(hide_password=True), tenant_id, hash(ddl))
    if key in _ensured:
        with engine.connect() as conn:
            if conn.execute(sa.text("SELECT to_regnamespace(:s) IS NOT NULL"), {"s": schema}).scalar():
                return
    with engine.begin() as conn:
        # Concurrent runs of one tenant would race on CREATE ... IF NOT EXISTS in the catalog.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"ddl:{schema}"})
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quoted_schema(tenant_id)}")
        _search_path(conn, tenant_id)
        for statement in ddl:
            conn.exec_driver_sql(statement)
        grant_tenant_roles(conn, tenant_id)
    _ensured.add(key)
