"""Arrow schemas derived from the Postgres catalog, so an extract's schema never depends on its data.

| Postgres | Arrow |
|---|---|
| text, varchar, char, uuid, name, citext | string |
| timestamptz | timestamp("us", tz="UTC") |
| timestamp | timestamp("us") |
| date | date32 |
| int2 / int4 / int8 | int16 / int32 / int64 |
| bool, float4, float8, bytea | bool, float32, float64, binary |
| numeric(p, s), p <= 38 | decimal128(p, s) |
| numeric without precision | string (exact decimal text) |
| json, jsonb | string (JSON text) |
| one-dimensional arrays of the scalars above | list<element> |
| anything else (inet, interval, time, ...) | string (Postgres' text form) |

Columns keep the table's order. Each field carries its Postgres type as field metadata `pg_type`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import sqlalchemy as sa

from oktually_pipeline.warehouse.schema import tenant_schema

_SAFE_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

_SCALARS: dict[str, pa.DataType] = {
    "text": pa.string(),
    "varchar": pa.string(),
    "bpchar": pa.string(),
    "name": pa.string(),
    "uuid": pa.string(),
    "citext": pa.string(),
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "bool": pa.bool_(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "bytea": pa.binary(),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
}
# psycopg returns uuid values as uuid.UUID; casting in SQL keeps every string column a str.
_CAST_TO_TEXT_IN_SQL = {"uuid", "citext", "name"}

_COLUMNS_SQL = """
SELECT a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS pg_type,
       a.attnotnull AS not_null,
       bt.typname AS type_name,
       bt.typcategory AS category,
       et.typname AS element_type,
       CASE WHEN a.atttypmod = -1 AND t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS typmod
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A'
WHERE n.nspname = :schema AND c.relname = :table AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


class UnsafeNameError(ValueError):
    """A table name that cannot safely become part of an object-store key."""


def safe_table_name(name: str) -> str:
    """Return `name` if it is a plain lower-case identifier (it becomes a folder in the extract)."""
    if not isinstance(name, str) or not _SAFE_NAME_RE.fullmatch(name):
        raise UnsafeNameError(
            f"table {name!r} cannot be extracted: expected a lower-case identifier [a-z_][a-z0-9_]*"
        )
    return name


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Column:
    """One extracted column: its Arrow field and the SQL expression that yields matching values."""

    name: str
    pg_type: str
    arrow_type: pa.DataType
    nullable: bool
    select: str

    def field(self) -> pa.Field:
        return pa.field(self.name, self.arrow_type, self.nullable, metadata={"pg_type": self.pg_type})


@dataclass(frozen=True)
class TableSchema:
    table: str
    columns: tuple[Column, ...]

    @property
    def arrow(self) -> pa.Schema:
        return pa.schema([c.field() for c in self.columns])

    def select_list(self) -> str:
        return ", ".join(c.select for c in self.columns)

    def describe(self) -> list[dict[str, object]]:
        """The schema as a JSON-friendly field list (what the manifest records)."""
        return [
            {"name": c.name, "type": str(c.arrow_type), "nullable": c.nullable, "pg_type": c.pg_type}
            for c in self.columns
        ]


def _numeric(typmod: int) -> pa.DataType | None:
    if typmod < 4:
        return None  # numeric without a declared precision: arbitrary scale, keep it as text
    precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
    return pa.decimal128(precision, scale) if 0 < precision <= 38 and scale <= precision else None


def _column(name: str, pg_type: str, not_null: bool, type_name: str, category: str,
            element: str | None, typmod: int) -> Column:
    ident = quote_ident(name)
    as_text = f"{ident}::text"
    if type_name == "numeric":
        decimal = _numeric(typmod)
        arrow, select = (decimal, ident) if decimal is not None else (pa.string(), as_text)
    elif category == "A" and element in _SCALARS and element not in _CAST_TO_TEXT_IN_SQL:
        arrow, select = pa.list_(_SCALARS[element]), ident
    elif category == "A" and element in _CAST_TO_TEXT_IN_SQL:
        arrow, select = pa.list_(pa.string()), f"{ident}::text[]"
    elif type_name in _SCALARS and type_name not in _CAST_TO_TEXT_IN_SQL:
        arrow, select = _SCALARS[type_name], ident
    else:
        # json/jsonb become JSON text; other types (inet, interval, ...) their Postgres text form.
        arrow, select = pa.string(), as_text
    return Column(name, pg_type, arrow, not not_null, select)


def table_schema(conn: sa.Connection, tenant_id: str, table: str) -> TableSchema:
    """Read `okta_<tenant>.<table>`'s columns from pg_catalog and map them to Arrow types."""
    rows = conn.execute(
        sa.text(_COLUMNS_SQL), {"schema": tenant_schema(tenant_id), "table": safe_table_name(table)}
    ).all()
    if not rows:
        raise LookupError(f"table {tenant_schema(tenant_id)}.{table} does not exist or has no columns")
    return TableSchema(table, tuple(
        _column(r.name, r.pg_type, r.not_null, r.type_name, r.category, r.element_type, r.typmod)
        for r in rows
    ))
