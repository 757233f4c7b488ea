"""Builds a model table from its SELECT and swaps it in, in one transaction per tenant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from oktually_pipeline.models.config import (
    DEFAULT_ADMIN_CHANGES_DAYS,
    DEFAULT_DORMANT_DAYS,
)
from oktually_pipeline.models.specs import Model
from oktually_pipeline.warehouse.schema import tenant_schema, use_tenant_schema
from oktually_pipeline.warehouse.sqlfiles import load_sql

DEFAULT_PARAMS: dict[str, Any] = {
    "dormant_days": DEFAULT_DORMANT_DAYS, "admin_changes_days": DEFAULT_ADMIN_CHANGES_DAYS, "as_of": None,
}


def _index_sql(table: str, name: str, columns: tuple[str, ...]) -> str:
    return f'CREATE INDEX "{name}" ON "{table}" ({", ".join(columns)})'


def materialize_model(
    engine: sa.Engine, tenant_id: str, model: Model, params: Mapping[str, Any] | None = None
) -> int:
    """Rebuild `model` in the tenant's schema and return its row count.

    The new table is built as `<model>__new` with its indexes, then swapped for the old one in the
    same transaction: readers see the old table until the commit, then the new one, never a
    half-built model. Names are code constants (the dependency table), values are bound.

    One Postgres caveat: a REPEATABLE READ transaction whose snapshot is older than the swap reads
    the new table as empty (its rows are newer than the snapshot). A snapshot reader, like the
    Parquet extract, must run after the models it reads (a Dagster dependency), not beside them.
    """
    name = model.name
    new = f"{name}__new"
    indexes = [(f"{name}__key", model.key), *((f"{name}__{'_'.join(c)}", c) for c in model.indexes)]
    with engine.begin() as conn:
        use_tenant_schema(conn, tenant_id)
        # Whole-table aggregates: JIT compilation costs more than it saves on them (seconds on the
        # System Log), and sorts that fit in memory beat spilling to disk.
        conn.exec_driver_sql("SET LOCAL jit = off")
        conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        # Two runs of one tenant's model would race on the __new table.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                     {"k": f"model:{tenant_schema(tenant_id)}.{name}"})
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{new}"')
        conn.execute(sa.text(f'CREATE TABLE "{new}" AS\n{load_sql(model.sql_name)}'),
                     {**DEFAULT_PARAMS, **(params or {})})
        for index, columns in indexes:
            conn.exec_driver_sql(_index_sql(new, f"{index}__new", columns))
        rows = conn.execute(sa.text(f'SELECT count(*) FROM "{new}"')).scalar_one()
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'ALTER TABLE "{new}" RENAME TO "{name}"')
        for index, _ in indexes:
            conn.exec_driver_sql(f'ALTER INDEX "{index}__new" RENAME TO "{index}"')
        conn.exec_driver_sql(f'ANALYZE "{name}"')
    return rows
