"""The queries behind the asset checks, as plain functions over one tenant's schema.

Table and column names are code constants (the dependency table, okta/endpoints.py), formatted
into the check SQL as identifiers; nothing from outside reaches them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from oktually_pipeline.tenants import TenantConfigError, validate_tenant_id
from oktually_pipeline.warehouse.schema import tenant_schema, use_tenant_schema
from oktually_pipeline.warehouse.sqlfiles import load_sql


@dataclass
class Finding:
    """One tenant's answer to a check: `problems` == 0 passes; `details` go into the metadata."""

    tenant_id: str
    problems: int
    details: dict[str, Any] = field(default_factory=dict)


def _table_exists(conn: sa.Connection, tenant_id: str, table: str) -> bool:
    return conn.execute(sa.text("SELECT to_regclass(:t) IS NOT NULL"),
                        {"t": f'"{tenant_schema(tenant_id)}"."{table}"'}).scalar_one()


def _query(engine: sa.Engine, tenant_id: str, tables: tuple[str, ...], sql: str) -> list[sa.Row] | None:
    """Run read-only check SQL in the tenant's schema; None when a table it needs is missing."""
    with engine.connect() as conn, conn.begin():
        if not all(_table_exists(conn, tenant_id, t) for t in tables):
            return None
        use_tenant_schema(conn, tenant_id)
        return list(conn.execute(sa.text(sql)))


def _missing(tenant_id: str, tables: tuple[str, ...]) -> Finding:
    return Finding(tenant_id, 1, {"missing_table": ", ".join(tables)})


def duplicate_keys(engine: sa.Engine, tenant_id: str, table: str, key: tuple[str, ...]) -> Finding:
    sql = load_sql("checks/find_duplicate_keys.sql").format(table=table, key=", ".join(key))
    rows = _query(engine, tenant_id, (table,), sql)
    if rows is None:
        return _missing(tenant_id, (table,))
    r = rows[0]
    return Finding(tenant_id, r.duplicate_keys,
                   {"duplicate_keys": r.duplicate_keys, "rows_involved": int(r.rows_involved),
                    "examples": list(r.examples or [])})


def dangling_references(engine: sa.Engine, tenant_id: str, table: str, column: str, ref_table: str) -> Finding:
    sql = load_sql("checks/find_dangling_references.sql").format(table=table, column=column, ref_table=ref_table)
    rows = _query(engine, tenant_id, (table, ref_table), sql)
    if rows is None:
        return _missing(tenant_id, (table, ref_table))
    r = rows[0]
    return Finding(tenant_id, r.dangling, {"dangling": r.dangling, "examples": list(r.examples or [])})


def log_mark_behind(engine: sa.Engine, tenant_id: str) -> Finding:
    rows = _query(engine, tenant_id, ("log_events", "ingest_marks"), load_sql("checks/find_log_mark_behind.sql"))
    if rows is None:
        return _missing(tenant_id, ("log_events", "ingest_marks"))
    r = rows[0]
    return Finding(tenant_id, r.events_after_mark, {
        "newest_event": r.newest_event.isoformat() if r.newest_event else None,
        "mark": r.mark.isoformat() if r.mark else None,
        "events_after_mark": r.events_after_mark,
    })


def tenant_group_drift(engine: sa.Engine, tenant_id: str) -> Finding:
    rows = _query(engine, tenant_id, ("idps", "groups"), load_sql("checks/find_tenant_group_drift.sql"))
    if rows is None:
        return _missing(tenant_id, ("idps", "groups"))
    return Finding(tenant_id, len(rows), {"drifted_tenants": [
        {"tenant_id": r.tenant_id, "tenant_name": r.tenant_name,
         "admins_groups": r.admins_groups, "users_groups": r.users_groups} for r in rows[:20]
    ]})


def tenant_schemas_with(engine: sa.Engine, table: str) -> list[str]:
    """Tenant ids whose schema holds `table` (from pg_catalog: information_schema would hide the
    tables of tenant roles the pipeline's user does not inherit)."""
    with engine.connect() as conn:
        schemas = conn.execute(sa.text(
            "SELECT n.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = :t AND c.relkind IN ('r', 'p') AND n.nspname LIKE 'okta\\_%' ORDER BY n.nspname"),
            {"t": table}).scalars()
        ids = [s.removeprefix("okta_") for s in schemas]
    return [t for t in ids if _valid_tenant(t)]


def _valid_tenant(tenant_id: str) -> bool:
    try:
        validate_tenant_id(tenant_id)
    except TenantConfigError:
        return False
    return True
