"""COPY rows into a session-local staging table, the fast path into Postgres."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

_JSONB_VERSION = b"\x01"  # jsonb's binary wire format: a version byte, then the JSON text


def stage_rows(
    conn: sa.Connection, stage: str, like: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
    *, types: Sequence[str] | None = None,
) -> None:
    """Empty the temp table `stage` (shaped like `like`) and COPY `rows` into it.

    Names are code constants, never input. The caller's transaction owns the staged rows.
    With `types` (one Postgres type name per column) the COPY is binary: Postgres skips text
    unescaping and parsing of every field, about 3x less server time for System Log pages. A
    `jsonb` column then takes the JSON text as a str (as in text mode).
    """
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {like} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    conn.exec_driver_sql(f"TRUNCATE {stage}")
    cursor = conn.connection.driver_connection.cursor()
    if types is None:
        with cursor.copy(f"COPY {stage} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    # psycopg's binary jsonb dumper would JSON-encode a str again, so jsonb fields are sent as
    # ready-made wire bytes (version byte + UTF-8 text); binary COPY carries no per-field type.
    jsonb = [i for i, t in enumerate(types) if t == "jsonb"]
    wire_types = ["bytea" if t == "jsonb" else t for t in types]
    with cursor.copy(f"COPY {stage} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(wire_types)
        for row in rows:
            if jsonb:
                row = list(row)
                for i in jsonb:
                    value = row[i]
                    if isinstance(value, str):
                        row[i] = _JSONB_VERSION + value.encode()
            copy.write_row(row)
