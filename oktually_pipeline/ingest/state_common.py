"""What the state loaders share: run options and results, transactions in the tenant's schema,
Okta objects to rows, and COPY into the endpoint's staging table."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa

from oktually_pipeline.ingest import state_sql as q
from oktually_pipeline.okta.endpoints import Endpoint, parse_time
from oktually_pipeline.warehouse.copy import copy_rows
from oktually_pipeline.warehouse.schema import use_tenant_schema

log = logging.getLogger("oktually_pipeline.ingest.state")

Row = tuple[Any, ...]


@dataclass(frozen=True)
class LoadOptions:
    """How one run loads a stream.

    `on_commit(stream, batches)` is called after each committed batch (of a list's rows, or of
    parents with their children); tests raise from it to simulate a crash.
    """

    full_refresh: bool = False
    reconcile_every: timedelta = timedelta(hours=24)
    overlap: timedelta = timedelta(minutes=1)
    # System Log rows younger than this are left to the next run: a page being written while we
    # read must not slip under the events watermark.
    events_settle: timedelta = timedelta(minutes=1)
    workers: int = 4
    # Rows of a top-level list per transaction (the last batch commits with the mark), and parents
    # per transaction for children (each parent's children and sync row still land together).
    batch_rows: int = 5000
    parents_per_batch: int = 20
    on_commit: Callable[[str, int], None] | None = None


@dataclass
class LoadResult:
    stream: str
    child: bool = False
    mode: str = "incremental"
    reason: str | None = None
    pages: int = 0
    fetched: int = 0
    upserted: int = 0
    deleted_marked: int = 0
    removed: int = 0
    parents_read: int = 0
    api_calls: int = 0
    mark: datetime | None = None
    refused: list[str] = field(default_factory=list)

    def metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mode": self.mode, "rows_fetched": self.fetched, "rows_upserted": self.upserted,
            "rows_deleted_marked": self.deleted_marked, "rows_removed": self.removed,
            "api_calls": self.api_calls, "pages": self.pages,
        }
        if self.reason:
            out["full_reason"] = self.reason
        if self.child:
            out["parents_read"] = self.parents_read
        if self.mark:
            out["high_water_mark"] = self.mark.isoformat()
        if self.refused:
            out["refused_slices"] = ", ".join(self.refused)
        return out


@contextmanager
def transaction(engine: sa.Engine, tenant_id: str) -> Iterator[sa.Connection]:
    with engine.connect() as conn, conn.begin():
        use_tenant_schema(conn, tenant_id)
        yield conn


def db_now(conn: sa.Connection) -> datetime:
    return conn.execute(sa.text("SELECT now()")).scalar_one()


def full_reason(details: dict[str, Any], now: datetime, opts: LoadOptions) -> str | None:
    if opts.full_refresh:
        return "full_refresh requested"
    if details.get("full_started_at"):
        return "resuming an unfinished reconciliation"
    last = parse_time(details.get("last_full_at"))
    if last is None:
        return "first load"
    if now - last >= opts.reconcile_every:
        return f"last reconciliation {last.isoformat()} is older than {opts.reconcile_every}"
    return None


def _raw(obj: dict[str, Any]) -> str:
    raw = orjson.dumps(obj).decode()
    return raw.replace("\\u0000", "") if "\\u0000" in raw else raw


def rows_of(ep: Endpoint, items: Iterable[Any], bound: tuple[Any, ...] = ()) -> tuple[list[Row], datetime | None]:
    rows: list[Row] = []
    newest: datetime | None = None
    key_at = [i for i, c in enumerate(ep.columns) if c.name in ep.key]
    for obj in items:
        if not isinstance(obj, dict):
            log.warning("%s: skipped a %s where an object was expected", ep.table, type(obj).__name__)
            continue
        if not ep.keeps(obj):
            continue
        values = tuple(c.extract(obj) for c in ep.columns)
        if any(values[i] is None for i in key_at):
            log.warning("%s: skipped an object without its key %s", ep.table, ep.key)
            continue
        rows.append((*bound, *values, _raw(obj) if ep.keep_raw else None))
        for f in ep.cursor:
            ts = parse_time(obj.get(f))
            if ts and (newest is None or ts > newest):
                newest = ts
    return rows, newest


def open_stage(conn: sa.Connection, ep: Endpoint) -> None:
    # Empty at the start of every transaction: ON COMMIT DELETE ROWS clears it at each commit and
    # a rollback takes its rows along, so no TRUNCATE (which costs a file swap) is needed.
    conn.exec_driver_sql(q.create_stage(ep))


def stage(conn: sa.Connection, ep: Endpoint, rows: Iterable[Row]) -> None:
    """COPY rows into the endpoint's temp staging table, after what it holds already."""
    copy_rows(conn, q.stage_name(ep), q.staged_columns(ep), rows)


class Commits:
    """Counts committed batches and calls the test hook after each (thread-safe)."""

    def __init__(self, stream: str, hook: Callable[[str, int], None] | None) -> None:
        self.stream, self.hook, self.count, self._lock = stream, hook, 0, threading.Lock()

    def done(self) -> None:
        with self._lock:
            self.count += 1
            if self.hook:
                self.hook(self.stream, self.count)


def events_window(conn: sa.Connection, details: dict[str, Any], opts: LoadOptions) -> tuple[datetime | None, datetime]:
    until = db_now(conn) - opts.events_settle
    since = parse_time(details.get("events_until"))
    return (min(since, until) if since else None), until
