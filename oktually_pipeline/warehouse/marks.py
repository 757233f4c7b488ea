"""Ingest marks: per stream, a high-water mark and Okta's next link, moved only with their rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa

from oktually_pipeline.warehouse.sqlfiles import load_sql


@dataclass(frozen=True)
class Mark:
    stream: str
    mark: datetime | None
    cursor: str | None
    details: dict[str, Any]


def read_mark(conn: sa.Connection, stream: str) -> Mark:
    """The stream's mark; the connection's search_path must point at the tenant's schema."""
    row = conn.execute(
        sa.text("SELECT mark, cursor, details FROM ingest_marks WHERE stream = :s"), {"s": stream}
    ).first()
    if row is None:
        return Mark(stream, None, None, {})
    return Mark(stream, row.mark, row.cursor, dict(row.details or {}))


def advance_mark(
    conn: sa.Connection,
    stream: str,
    *,
    mark: datetime | None,
    cursor: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Move the mark forward (never back) inside the caller's transaction, with its rows.

    A None cursor keeps the stored one; details are merged into the stored ones.
    """
    conn.execute(
        sa.text(load_sql("ingest/advance_mark.sql")),
        {
            "stream": stream,
            "mark": mark,
            "cursor": cursor,
            "details": orjson.dumps(details or {}).decode(),
        },
    )
