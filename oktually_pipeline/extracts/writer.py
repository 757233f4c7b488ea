"""Stream a query's rows into Parquet files with a fixed Arrow schema, in bounded memory.

Rows come from a psycopg server-side (named) cursor in batches, so only about one row group
(`row_group_rows`) is ever held in memory, whatever the table's size. Files roll over at
`max_rows_per_file`; each finished file is handed to `on_file` (which uploads it) and deleted.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

BATCH_ROWS = 50_000
ROW_GROUP_ROWS = 100_000
MAX_ROWS_PER_FILE = 2_000_000
COMPRESSION = "zstd"

_cursor_ids = itertools.count()


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    rows: int
    bytes: int


def rows_to_batch(rows: list[tuple[Any, ...]], schema: pa.Schema) -> pa.RecordBatch:
    """Column-wise conversion; pyarrow moves aware datetimes to UTC and rejects wrong types."""
    columns = list(zip(*rows)) if rows else [()] * len(schema)
    return pa.RecordBatch.from_arrays(
        [pa.array(col, type=f.type) for col, f in zip(columns, schema)], schema=schema
    )


class _RollingWriter:
    """Parquet files of at most `max_rows` rows, written one row group at a time."""

    def __init__(self, schema: pa.Schema, folder: Path, max_rows: int, row_group_rows: int,
                 on_file: Callable[[WrittenFile], None]) -> None:
        self.schema, self.folder, self.max_rows = schema, folder, max_rows
        self.row_group_rows, self.on_file = row_group_rows, on_file
        self.writer: pq.ParquetWriter | None = None
        self.path: Path | None = None
        self.rows_in_file = 0
        self.files = 0

    def _open(self) -> pq.ParquetWriter:
        self.path = self.folder / f"{self.files:05d}.parquet"
        self.files += 1
        self.rows_in_file = 0
        self.writer = pq.ParquetWriter(self.path, self.schema, compression=COMPRESSION)
        return self.writer

    def write(self, table: pa.Table) -> None:
        while table.num_rows:
            writer = self.writer or self._open()
            take = min(table.num_rows, self.max_rows - self.rows_in_file)
            writer.write_table(table.slice(0, take), row_group_size=self.row_group_rows)
            self.rows_in_file += take
            table = table.slice(take)
            if self.rows_in_file >= self.max_rows:
                self.close()

    def close(self, *, keep_empty: bool = False) -> None:
        if self.writer is None and keep_empty and self.files == 0:
            self._open()  # an empty table still gets one file: readers see its schema
        if self.writer is None or self.path is None:
            return
        self.writer.close()
        self.writer = None
        done = WrittenFile(self.path, self.rows_in_file, self.path.stat().st_size)
        try:
            self.on_file(done)
        finally:
            os.unlink(done.path)


def write_query(
    conn: sa.Connection,
    query: str,
    params: Mapping[str, Any] | None,
    schema: pa.Schema,
    on_file: Callable[[WrittenFile], None],
    *,
    batch_rows: int = BATCH_ROWS,
    row_group_rows: int = ROW_GROUP_ROWS,
    max_rows_per_file: int = MAX_ROWS_PER_FILE,
    keep_empty: bool = False,
) -> list[WrittenFile]:
    """Run `query` (psycopg `%(name)s` parameters) in `conn`'s transaction and write its rows.

    Args:
        conn: a connection inside an open transaction; the named cursor lives in it.
        query: a SELECT whose columns match `schema` in order and type.
        schema: the Arrow schema of every file (explicit, so empty results keep it too).
        on_file: called with each finished local file (upload it there); the file is deleted
            afterwards.
        keep_empty: write one empty file when the query returns no rows.

    Returns:
        The files written, in order, with their rows and sizes.
    """
    written: list[WrittenFile] = []

    def handed_over(f: WrittenFile) -> None:
        on_file(f)
        written.append(f)

    driver = conn.connection.driver_connection
    with tempfile.TemporaryDirectory(prefix="oktually-extract-") as tmp:
        out = _RollingWriter(schema, Path(tmp), max_rows_per_file, row_group_rows, handed_over)
        # A named cursor is a server-side cursor: Postgres holds the result, we fetch in batches.
        with driver.cursor(name=f"oktually_extract_{next(_cursor_ids)}") as cur:
            cur.execute(query, params)
            pending: list[pa.RecordBatch] = []
            pending_rows = 0
            while rows := cur.fetchmany(batch_rows):
                pending.append(rows_to_batch(rows, schema))
                pending_rows += len(rows)
                # Write whole row groups only: every write_table call ends a row group, so writing
                # each batch as it comes would leave many small ones.
                if pending_rows >= row_group_rows:
                    table = pa.Table.from_batches(pending, schema=schema)
                    whole = pending_rows - pending_rows % row_group_rows
                    out.write(table.slice(0, whole))
                    rest = table.slice(whole)
                    pending, pending_rows = rest.to_batches(), rest.num_rows
            if pending_rows:
                out.write(pa.Table.from_batches(pending, schema=schema))
        out.close(keep_empty=keep_empty)
    return written
