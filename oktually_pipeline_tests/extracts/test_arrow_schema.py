"""Postgres column types -> Arrow types, from the catalog, and values that fit them."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import orjson
import pyarrow as pa
import pytest
import sqlalchemy as sa

from oktually_pipeline.extracts import LocalStore, publish_tenant
from oktually_pipeline.extracts.arrow_schema import (
    UnsafeNameError,
    safe_table_name,
    table_schema,
)
from oktually_pipeline.extracts.reader import open_table
from oktually_pipeline.warehouse.schema import ensure_tenant_schema

TYPES = [
    ("t", "text", pa.string()),
    ("v", "varchar(20)", pa.string()),
    ("c", "char(3)", pa.string()),
    ("u", "uuid", pa.string()),
    ("ts", "timestamptz", pa.timestamp("us", tz="UTC")),
    ("lts", "timestamp", pa.timestamp("us")),
    ("d", "date", pa.date32()),
    ("i2", "smallint", pa.int16()),
    ("i4", "integer", pa.int32()),
    ("i8", "bigint", pa.int64()),
    ("b", "boolean", pa.bool_()),
    ("f4", "real", pa.float32()),
    ("f8", "double precision", pa.float64()),
    ("n", "numeric", pa.string()),
    ("n2", "numeric(12,2)", pa.decimal128(12, 2)),
    ("j", "json", pa.string()),
    ("jb", "jsonb", pa.string()),
    ("arr", "text[]", pa.list_(pa.string())),
    ("iarr", "integer[]", pa.list_(pa.int32())),
    ("uarr", "uuid[]", pa.list_(pa.string())),
    ("ip", "inet", pa.string()),
    ("iv", "interval", pa.string()),
    ("by", "bytea", pa.binary()),
    ("Mixed Case", "text", pa.string()),
]


@pytest.fixture
def typed(engine: sa.Engine) -> sa.Engine:
    ensure_tenant_schema(engine, "acme")
    columns = ", ".join(f'"{name}" {pg}' for name, pg, _ in TYPES)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE okta_acme.typed (id integer PRIMARY KEY, {columns})")
    return engine


def test_each_type_maps_and_order_follows_the_table(typed: sa.Engine) -> None:
    with typed.connect() as conn:
        schema = table_schema(conn, "acme", "typed").arrow
    assert schema.names == ["id"] + [name for name, _, _ in TYPES]
    assert [f.type for f in schema][1:] == [arrow for _, _, arrow in TYPES]
    assert schema.field("id").nullable is False and schema.field("t").nullable is True
    assert schema.field("n2").metadata[b"pg_type"] == b"numeric(12,2)"


def test_values_round_trip_through_the_extract(typed: sa.Engine, tmp_path: Path) -> None:
    with typed.begin() as conn:
        conn.exec_driver_sql("SET TIME ZONE 'Europe/Paris'")  # the session zone must not matter
        conn.exec_driver_sql("""
            INSERT INTO okta_acme.typed VALUES (1, 'é', 'v', 'abc', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
              '2026-03-01 12:00:00.123456+05', '2026-03-01 12:00', '2026-03-01', 1, 2, 3, true, 1.5, 2.5,
              '12345678901234567890.000000001', 12.34, '{"a": [1, 2]}', '{"b": {"c": null}}',
              '{x,y}', '{1,2}', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', '10.0.0.1/32', '1 day 2 hours',
              '\\x00ff', 'm');
            INSERT INTO okta_acme.typed (id) VALUES (2);
        """)
    publish_tenant(typed, "acme", LocalStore(tmp_path), tables=["typed"])
    rows = open_table(str(tmp_path), "acme", "typed").to_table().to_pylist()
    full, empty = rows
    assert full["ts"] == datetime(2026, 3, 1, 7, 0, 0, 123456, tzinfo=timezone.utc)
    assert full["lts"] == datetime(2026, 3, 1, 12, 0)
    assert full["d"] == date(2026, 3, 1)
    assert full["u"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert full["n"] == "12345678901234567890.000000001" and full["n2"] == Decimal("12.34")
    assert orjson.loads(full["j"]) == {"a": [1, 2]} and orjson.loads(full["jb"]) == {"b": {"c": None}}
    assert full["arr"] == ["x", "y"] and full["iarr"] == [1, 2]
    assert full["uarr"] == ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]
    assert full["ip"] == "10.0.0.1/32" and full["iv"] == "1 day 02:00:00"
    assert full["by"] == b"\x00\xff" and full["Mixed Case"] == "m"
    assert all(v is None for k, v in empty.items() if k != "id")


@pytest.mark.parametrize("bad", ["Users", "a/b", "..", "x y", "", "a" * 64, 'a"b'])
def test_table_names_must_be_safe_path_parts(bad: str) -> None:
    with pytest.raises(UnsafeNameError):
        safe_table_name(bad)


def test_missing_table_is_an_error(typed: sa.Engine) -> None:
    with typed.connect() as conn, pytest.raises(LookupError, match="okta_acme.nope"):
        table_schema(conn, "acme", "nope")
