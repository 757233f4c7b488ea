"""Comparing an extract with Postgres, row for row."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from oktually_pipeline.extracts.manifest import Manifest, read_manifest
from oktually_pipeline.extracts.stores import ExtractStore

ORDER = {"log_events": "uuid", "users": "id", "groups": "id", "group_members": "group_id, user_id",
         "policies": "id"}


def pg_rows(engine: sa.Engine, table: str, tenant: str = "acme") -> list[dict[str, Any]]:
    """The table as psycopg returns it (jsonb parsed, timestamps aware), in key order."""
    with engine.connect() as conn:
        result = conn.execute(sa.text(f"SELECT * FROM okta_{tenant}.{table} ORDER BY {ORDER[table]}"))
        return [dict(r) for r in result.mappings()]


def arrow_rows(table: pa.Table, key: str) -> list[dict[str, Any]]:
    """Rows of an extract table, JSON text columns parsed, sorted like `pg_rows`."""
    json_cols = {f.name for f in table.schema
                 if (f.metadata or {}).get(b"pg_type") in (b"json", b"jsonb")}
    rows = table.drop_columns([c for c in ("date",) if c in table.column_names]).to_pylist()
    for row in rows:
        for col in json_cols:
            row[col] = orjson.loads(row[col]) if row[col] is not None else None
    return sorted(rows, key=lambda r: tuple(r[k.strip()] for k in key.split(",")))


def read_from_store(store: ExtractStore, tenant: str, table: str,
                    manifest: Manifest | None = None) -> pa.Table:
    """Follow the manifest through the store's own get_bytes (works for S3 and local alike)."""
    manifest = manifest or read_manifest(store, tenant)
    assert manifest is not None
    parts = [pq.read_table(io.BytesIO(store.get_bytes(f"tenant={tenant}/{f.key}")))
             for f in manifest.tables[table].files]
    return pa.concat_tables(parts)


def assert_matches_postgres(engine: sa.Engine, extract: pa.Table, table: str) -> None:
    expected = pg_rows(engine, table)
    assert arrow_rows(extract, ORDER[table]) == expected
    assert len(expected) > 0
