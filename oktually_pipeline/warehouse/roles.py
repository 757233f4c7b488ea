"""Per-tenant Postgres roles: the pipeline writes a tenant's schema as that tenant's loader only.

For tenant `acme`, schema `okta_acme`:

* `okta_acme_loader` owns every table in `okta_acme` and may create tables there (models are
  rebuilt by swapping tables). It has no privilege on any other tenant's schema. Every
  transaction the pipeline runs for a tenant starts with `use_tenant_schema()`, which switches to
  this role (`SET LOCAL ROLE`) for the rest of the transaction, so even a bug that names another
  tenant's table is refused by Postgres, not by our code.
* `okta_acme_reader` may read `okta_acme` (every table, including ones created later) and nothing
  else. It is the web app's: grant it to the app's login role (`GRANT okta_acme_reader TO webapp`).

Both are created NOLOGIN, with no attributes (no superuser, createrole, createdb, bypassrls,
replication) and no memberships; a pre-existing role of that name with any of them is refused. Roles are cluster-wide in Postgres, privileges are per database, so creating them is
idempotent and safe when several databases of one cluster hold the same tenant. The pipeline's own
user needs CREATEROLE (or a DBA creates the roles and grants them to it); a superuser needs nothing.
"""

from __future__ import annotations

import sqlalchemy as sa

from oktually_pipeline.tenants import validate_tenant_id


class TenantRoleError(RuntimeError):
    """A tenant role exists with attributes or memberships the pipeline will not work with."""


def loader_role(tenant_id: str) -> str:
    return f"okta_{validate_tenant_id(tenant_id)}_loader"


def reader_role(tenant_id: str) -> str:
    return f"okta_{validate_tenant_id(tenant_id)}_reader"


def _q(name: str) -> str:
    # Names come from validated tenant ids ([a-z0-9_]); quoting keeps them identifiers regardless.
    return f'"{name}"'


_CREATE_ROLE = """
DO $$BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE {quoted} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- created meanwhile by another database's run: roles are cluster-wide
END$$
"""

_CHECK_ROLE = sa.text("""
SELECT r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls AS privileged,
       EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m WHERE m.member = r.oid) AS has_memberships
FROM pg_catalog.pg_roles r WHERE r.rolname = :role
""")

_FOREIGN_OWNED = sa.text("""
SELECT c.relname, c.relkind FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = :schema AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
  AND c.relowner <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = :role)
  AND NOT (c.relkind = 'S' AND EXISTS (  -- a sequence owned by a column follows its table
      SELECT 1 FROM pg_catalog.pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
ORDER BY c.relname
""")
_KIND = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE", "f": "FOREIGN TABLE"}


def create_tenant_roles(conn: sa.Connection, tenant_id: str) -> tuple[str, str]:
    """Create the tenant's loader and reader roles if missing, check them, and let the current user
    switch to the loader. Returns (loader, reader)."""
    loader, reader = loader_role(tenant_id), reader_role(tenant_id)
    for role in (loader, reader):
        conn.exec_driver_sql(_CREATE_ROLE.format(role=role, quoted=_q(role)))
        row = conn.execute(_CHECK_ROLE, {"role": role}).one()
        if row.privileged or row.has_memberships:
            raise TenantRoleError(
                f"Postgres role {role} exists with privileges or memberships a tenant role must not "
                "have (superuser, createrole, createdb, replication, bypassrls, or membership in "
                "other roles); drop or fix it"
            )
    is_super, can_set = conn.execute(
        sa.text("SELECT rolsuper, pg_catalog.pg_has_role(current_user, :role, 'MEMBER') "
                "FROM pg_catalog.pg_roles WHERE rolname = current_user"), {"role": loader}).one()
    if not is_super and not can_set:
        conn.exec_driver_sql(f"GRANT {_q(loader)} TO CURRENT_USER")
    return loader, reader


def grant_tenant_roles(conn: sa.Connection, tenant_id: str) -> None:
    """Inside the caller's transaction, after the schema's DDL: the loader owns the schema's tables
    and may create more; the reader may read them, now and later; nobody else gets anything."""
    schema = f"okta_{validate_tenant_id(tenant_id)}"
    loader, reader = create_tenant_roles(conn, tenant_id)
    qs, ql, qr = _q(schema), _q(loader), _q(reader)
    conn.exec_driver_sql(f"REVOKE ALL ON SCHEMA {qs} FROM PUBLIC")
    conn.exec_driver_sql(f"GRANT USAGE, CREATE ON SCHEMA {qs} TO {ql}")
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {qs} TO {qr}")
    for name, kind in conn.execute(_FOREIGN_OWNED, {"schema": schema, "role": loader}).all():
        conn.exec_driver_sql(f'ALTER {_KIND[kind]} {qs}."{name}" OWNER TO {ql}')
    conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA {qs} TO {qr}")
    conn.exec_driver_sql(f"ALTER DEFAULT PRIVILEGES FOR ROLE {ql} IN SCHEMA {qs} GRANT SELECT ON TABLES TO {qr}")


def ensure_tenant_roles(engine: sa.Engine, tenant_id: str) -> tuple[str, str]:
    """Create the tenant's roles (idempotent); grant them the tenant's schema if it exists yet.

    `ensure_tenant_schema()` calls this itself; it is public for set-ups that create roles first.
    """
    schema = f"okta_{validate_tenant_id(tenant_id)}"
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"ddl:{schema}"})
        if conn.execute(sa.text("SELECT to_regnamespace(:s) IS NOT NULL"), {"s": _q(schema)}).scalar_one():
            grant_tenant_roles(conn, tenant_id)
        else:
            create_tenant_roles(conn, tenant_id)
    return loader_role(tenant_id), reader_role(tenant_id)


# Run at the start of every tenant transaction (warehouse/schema.py: use_tenant_schema). One round
# trip: switch to the loader and the tenant's schema until the transaction ends, and drop this
# session's temp (staging) tables if another role made them: a pooled connection that staged rows
# for tenant A must not hand A's staging table to tenant B, whose loader could not use it anyway.
SWITCH_TO_LOADER = """
DO $$BEGIN
    SET LOCAL ROLE {loader};
    SET LOCAL search_path TO {schema}, pg_catalog, pg_temp;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_class
               WHERE relnamespace = pg_catalog.pg_my_temp_schema()
                 AND relowner <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)) THEN
        DISCARD TEMP;
    END IF;
END$$
"""


def switch_to_loader_sql(tenant_id: str) -> str:
    return SWITCH_TO_LOADER.format(loader=_q(loader_role(tenant_id)), schema=_q(f"okta_{validate_tenant_id(tenant_id)}"))
