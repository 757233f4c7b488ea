"""Pulls a tenant's System Log into `log_events`, exactly once, one committed page at a time.

Two ways to read Okta's `/api/v1/logs`:

* Polling (no `until`): Okta orders and filters by *persistence* time, so an event persisted late,
  with a `published` earlier than events already served, still comes after the last `next` link.
  That link is the durable cursor: it is stored, as path and query, in `ingest_marks` in the same
  transaction as the page it follows. Without a usable link (first run, or Okta rejects a stale
  one) polling starts from the `published` mark minus an overlap. Polling always offers a next
  link, so a pull stops at the tail: a page shorter than `limit`.
* Bounded (`since` and `until`): ordered by `published`, finite. Used to re-read a past window
  (a backfill); it never moves the stored link, and the mark only forwards.

Every page is committed in one transaction with the mark, so a run that dies anywhere leaves
table and mark consistent, and the next run re-reads at most the page it was on. Pages are
de-duplicated on `uuid` (see `PageWriter`): COPYed straight into `log_events` while they hold new
events only, and merged through a staging table with `ON CONFLICT (uuid) DO NOTHING` where they
overlap what is stored (the polling overlap, a re-read after a crash, a backfill).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec
import orjson
import psycopg
import sqlalchemy as sa

from oktually_pipeline.okta.client import OktaClient, Page, cursor_of
from oktually_pipeline.okta.errors import OktaRequestError
from oktually_pipeline.okta.read_ahead import linked_pages
from oktually_pipeline.warehouse.copy import copy_rows, stage_rows
from oktually_pipeline.warehouse.marks import advance_mark, read_mark
from oktually_pipeline.warehouse.schema import refresh_statistics, use_tenant_schema
from oktually_pipeline.warehouse.sqlfiles import load_sql

log = logging.getLogger(__name__)

STREAM = "log_events"
LOGS_PATH = "/api/v1/logs"
MAX_LIMIT = 1000
COLUMNS = (
    "uuid", "published", "event_type", "severity", "display_message", "actor_id",
    "actor_alternate_id", "client_ip", "outcome_result", "outcome_reason", "transaction_id", "raw",
)
# Column types for the binary COPY (see warehouse/copy.py), in COLUMNS order.
COLUMN_TYPES = ("text", "timestamptz") + ("text",) * 9 + ("json",)
# The columns the models, the checks, the extracts and the state loaders filter, join and group on:
# a bulk pull gives the planner their statistics at once. ANALYZE of every column took twice as
# long (0.31-0.45 s against 0.15-0.17 s after 100,000 events, a tenth of the pull); autovacuum's
# ANALYZE does the rest later.
PLANNED_COLUMNS = ("published", "event_type", "actor_id", "outcome_result", "ingested_at")


class MalformedEvent(ValueError):
    """An event without the fields every System Log event has (uuid, published, eventType)."""


class _Actor(msgspec.Struct):
    id: Any = None
    alternateId: Any = None


class _Client(msgspec.Struct):
    ipAddress: Any = None


class _Outcome(msgspec.Struct):
    result: Any = None
    reason: Any = None


class _Transaction(msgspec.Struct):
    id: Any = None


class _Event(msgspec.Struct):
    """The parts of an event that get a column of their own; the rest is read only into `raw`."""

    uuid: Any = None
    published: Any = None
    eventType: Any = None
    severity: Any = None
    displayMessage: Any = None
    actor: _Actor | None = None
    client: _Client | None = None
    outcome: _Outcome | None = None
    transaction: _Transaction | None = None


# A page is split into each event's own bytes, which become `raw` as Okta sent them, and only the
# columns' fields are decoded from them: no dict of the whole event is built, nor serialised again
# (profiled: 5.9 -> 2.9 µs an event, BENCHMARKS.md).
_PAGE = msgspec.json.Decoder(list[msgspec.Raw])
_EVENT = msgspec.json.Decoder(_Event)


def decode_page(content: bytes) -> list[msgspec.Raw]:
    """A System Log page as its events' JSON texts, undecoded (see `event_row`)."""
    return _PAGE.decode(content)


@dataclass
class PullResult:
    mode: str
    pages: int = 0
    fetched: int = 0
    inserted: int = 0
    mark: datetime | None = None
    cursor: str | None = None
    started_from: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    # Postgres text cannot hold NUL; Okta has never sent one, but a page must not fail on it.
    return text.replace("\x00", "") if "\x00" in text else text


def _without_nul(value: Any) -> Any:
    """`value` with NUL taken out of every string and key in it."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _published(uuid: str, value: Any) -> datetime:
    if not isinstance(value, str):
        raise MalformedEvent(f"event {uuid!r} has no published time")
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedEvent(f"event {uuid!r} has an unreadable published time {value[:40]!r}") from None
    if ts.tzinfo is None:
        raise MalformedEvent(f"event {uuid!r} has a published time without a zone")
    return ts


def event_row(event: bytes | msgspec.Raw) -> tuple[tuple[Any, ...], datetime]:
    """The log_events row for one event, given as its JSON text, and its published time."""
    try:
        fields = _EVENT.decode(event)
        raw = str(event, "utf-8")
    except msgspec.DecodeError as exc:  # ValidationError (a wrong type) included
        raise MalformedEvent(f"unusable event: {exc}") from None
    except UnicodeDecodeError:
        raise MalformedEvent("event is not valid UTF-8") from None
    uuid, event_type = fields.uuid, fields.eventType
    if not isinstance(uuid, str) or not uuid:
        raise MalformedEvent("event without a uuid")
    if not isinstance(event_type, str) or not event_type:
        raise MalformedEvent(f"event {uuid!r} has no eventType")
    published = _published(uuid, fields.published)
    actor, client, outcome, transaction = fields.actor, fields.client, fields.outcome, fields.transaction
    # Postgres cannot read NUL out of json either. A backslash is rare in an event, and looking
    # for one is a memchr, 0.5 µs an event less than looking for the escape in every event.
    if "\\" in raw and "\\u0000" in raw:
        # Not a text replace: in `\\u0000` (an escaped backslash, then "u0000") it would take
        # the escape's second backslash and leave invalid JSON, which would stop the tenant's log.
        raw = orjson.dumps(_without_nul(orjson.loads(raw))).decode()
    row = (
        uuid,
        published,
        event_type,
        _text(fields.severity),
        _text(fields.displayMessage),
        _text(actor and actor.id),
        _text(actor and actor.alternateId),
        _text(client and client.ipAddress),
        _text(outcome and outcome.result),
        _text(outcome and outcome.reason),
        _text(transaction and transaction.id),
        raw,
    )
    return row, published


def page_rows(items: list[msgspec.Raw]) -> tuple[list[tuple[Any, ...]], datetime | None]:
    rows, newest = [], None
    for event in items:
        row, published = event_row(event)
        rows.append(row)
        if newest is None or published > newest:
            newest = published
    return rows, newest


class PageWriter:
    """Commits pages of rows, each with the mark (and link) that follows them.

    A page of new events is COPYed straight into `log_events` (under a savepoint), sparing the
    server the staging table's write and read. When that meets an event already stored, the
    page is merged through the staging table instead (`ON CONFLICT (uuid) DO NOTHING`), and so
    are the pages after it until one holds only new events: overlaps come in runs of pages.
    """

    def __init__(self, engine: sa.Engine, tenant_id: str, *, expect_overlap: bool = False) -> None:
        self.engine, self.tenant_id = engine, tenant_id
        self.direct = not expect_overlap
        self.merged_pages = 0

    def write(self, rows: list[tuple[Any, ...]], newest: datetime | None, cursor: str | None,
              details: dict[str, Any]) -> int:
        with self.engine.begin() as conn:
            use_tenant_schema(conn, self.tenant_id)
            # No wait for the WAL flush at each page's commit: a Postgres crash may lose the last
            # few commits, but each loses its rows and the mark together, and the next run
            # re-reads them. `settle` waits for the flush once, before the pull reports.
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            inserted = self._insert(conn, rows) if rows else 0
            advance_mark(conn, STREAM, mark=newest, cursor=cursor, details=details)
        return inserted

    def settle(self, details: dict[str, Any]) -> None:
        """Wait until every page committed so far is on disk: a synchronous commit that writes
        (the mark's details) flushes the WAL up to itself, the pages' commits before it too."""
        with self.engine.begin() as conn:
            use_tenant_schema(conn, self.tenant_id)
            advance_mark(conn, STREAM, mark=None, details=details)

    def _insert(self, conn: sa.Connection, rows: list[tuple[Any, ...]]) -> int:
        if self.direct:
            try:
                with conn.begin_nested():
                    copy_rows(conn, "log_events", COLUMNS, rows, types=COLUMN_TYPES)
                return len(rows)
            except psycopg.errors.UniqueViolation:
                self.direct = False
        stage_rows(conn, "_stage_log_events", "log_events", COLUMNS, rows, types=COLUMN_TYPES)
        inserted = conn.exec_driver_sql(load_sql("ingest/merge_log_events.sql")).rowcount
        self.merged_pages += 1
        self.direct = inserted == len(rows)
        return inserted


def _log_pages(client: OktaClient, url: str, **follow: Any) -> Generator[Page, None, None]:
    """System Log pages from `url` on, each read into its rows (`linked_pages`, with `follow`)."""
    return linked_pages(client, url, decode=decode_page, parse=page_rows, **follow)


def _polling_pages(
    client: OktaClient, url: str, limit: int, max_pages: int | None
) -> Generator[Page, None, None]:
    # Polling always offers a next link; a short page means we reached the tail for now.
    return _log_pages(client, url, more=lambda page: page.count >= limit, max_pages=max_pages)


def _run_pages(
    engine: sa.Engine, tenant_id: str, pages: Generator[Page, None, None], result: PullResult,
    keep_cursor: bool, on_page: Callable[[PullResult], None] | None, *, expect_overlap: bool,
) -> None:
    writer = PageWriter(engine, tenant_id, expect_overlap=expect_overlap)
    # Closed on the way out, failure included: its read-ahead requests are waited for then.
    with closing(pages):
        _write_pages(writer, pages, result, keep_cursor, on_page)
    if result.pages:
        writer.settle({"last_mode": result.mode})
    result.extra["pages_merged"] = result.extra.get("pages_merged", 0) + writer.merged_pages
    refresh_statistics(engine, tenant_id, "log_events", result.inserted, PLANNED_COLUMNS)


def _write_pages(writer: PageWriter, pages: Iterator[Page], result: PullResult, keep_cursor: bool,
                 on_page: Callable[[PullResult], None] | None) -> None:
    for page in pages:
        rows, newest = page.parsed
        cursor = cursor_of(page.next_url) if keep_cursor and page.next_url else None
        result.inserted += writer.write(rows, newest, cursor, {"last_mode": result.mode})
        result.pages += 1
        result.fetched += len(rows)
        if newest and (result.mark is None or newest > result.mark):
            result.mark = newest
        if cursor:
            result.cursor = cursor
        if on_page:
            on_page(result)


def pull_polling(
    client: OktaClient,
    engine: sa.Engine,
    tenant_id: str,
    *,
    start: datetime,
    overlap: timedelta = timedelta(minutes=5),
    limit: int = MAX_LIMIT,
    resume_from_cursor: bool = True,
    max_pages: int | None = None,
    on_page: Callable[[PullResult], None] | None = None,
) -> PullResult:
    """Catch the tenant's log up to Okta's tail by polling.

    Starts from the stored next link; else from the stored mark minus `overlap`; else from `start`.
    """
    limit = min(limit, MAX_LIMIT)
    with engine.connect() as conn, conn.begin():
        use_tenant_schema(conn, tenant_id)
        stored = read_mark(conn, STREAM)
    result = PullResult(mode="polling")
    since = stored.mark - overlap if stored.mark else start
    fresh_url = client.url_for(LOGS_PATH, {"since": _iso(since), "limit": limit, "sortOrder": "ASCENDING"})
    if resume_from_cursor and stored.cursor:
        result.started_from = "cursor"
        try:
            # A stored link resumes after the last committed page: new events as a rule (Okta
            # still asks clients to de-duplicate on uuid, which the fallback to merging does).
            _run_pages(engine, tenant_id, _polling_pages(client, client.url_for(stored.cursor), limit, max_pages),
                       result, True, on_page, expect_overlap=False)
            return result
        except OktaRequestError as exc:
            # Okta refuses cursors past its retention; the mark and the overlap take over.
            log.warning("tenant %s: stored System Log link rejected (%s); restarting from the mark",
                        tenant_id, exc.error_code or exc.status)
            result.extra["cursor_rejected"] = True
    result.started_from = f"since {_iso(since)}"
    # From the mark minus the overlap: the first pages repeat stored events.
    _run_pages(engine, tenant_id, _polling_pages(client, fresh_url, limit, max_pages), result, True, on_page,
               expect_overlap=stored.mark is not None)
    return result


def pull_bounded(
    client: OktaClient,
    engine: sa.Engine,
    tenant_id: str,
    *,
    since: datetime,
    until: datetime,
    limit: int = MAX_LIMIT,
    on_page: Callable[[PullResult], None] | None = None,
) -> PullResult:
    """Re-read [since, until) by `published`, inserting whatever is missing."""
    limit = min(limit, MAX_LIMIT)
    result = PullResult(mode="bounded", started_from=f"{_iso(since)}..{_iso(until)}")
    url = client.url_for(
        LOGS_PATH, {"since": _iso(since), "until": _iso(until), "limit": limit, "sortOrder": "ASCENDING"}
    )

    # A backfill re-reads days that are mostly stored already.
    _run_pages(engine, tenant_id, _log_pages(client, url), result, False, on_page, expect_overlap=True)
    return result
