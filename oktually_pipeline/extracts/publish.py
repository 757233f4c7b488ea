"""Publish one tenant's warehouse tables as Parquet, with a manifest readers can trust.

Layout under the store (see `stores.py`)::

    tenant=<id>/_manifest.json                                     written last
    tenant=<id>/<table>/part-<publish id>-00000.parquet
    tenant=<id>/log_events/date=YYYY-MM-DD/part-<publish id>-00000.parquet

How a publish goes:

1. Take the tenant's publish lock (Postgres advisory lock), read the live manifest.
2. In one REPEATABLE READ, READ ONLY transaction, stream every table into new files. Each file's
   key holds this publish's unique id, so no file a live manifest names is ever overwritten.
   System Log days whose row count and uuid checksum match the live manifest keep their files.
3. Write `_manifest.json`: the switch from the old extract to the new one.
4. Delete Parquet files under the tenant that the new manifest does not name (the previous
   extract's replaced files, and files left by interrupted publishes).

A publish that fails before step 3 leaves the previous manifest and all its files untouched.
Readers should open the files the manifest lists (`reader.open_table`), not list folders.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from oktually_pipeline.extracts import snapshot as snap
from oktually_pipeline.extracts.arrow_schema import (
    TableSchema,
    quote_ident,
    table_schema,
)
from oktually_pipeline.extracts.manifest import (
    FileEntry,
    Manifest,
    ManifestError,
    TableEntry,
    manifest_key,
    read_manifest,
    tenant_folder,
)
from oktually_pipeline.extracts.stores import ExtractStore
from oktually_pipeline.extracts.writer import WrittenFile, write_query
from oktually_pipeline.tenants import validate_tenant_id
from oktually_pipeline.warehouse.schema import quoted_schema

log = logging.getLogger(__name__)

DATE_PARTITION = "date"


@dataclass
class TableResult:
    rows: int = 0
    rows_written: int = 0
    files_written: int = 0
    bytes_written: int = 0
    files_kept: int = 0
    days_written: list[str] = field(default_factory=list)
    days_kept: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PublishResult:
    """What one publish did. Keys are store keys (`tenant=<id>/...`)."""

    tenant_id: str
    publish_id: str
    manifest_key: str
    location: str
    snapshot_time: str
    log_events_mark: str | None
    files_written: list[str]
    rows_written: int
    bytes_written: int
    tables: dict[str, TableResult]
    files_deleted: list[str]


class _Publisher:
    def __init__(self, conn: sa.Connection, tenant_id: str, store: ExtractStore, publish_id: str,
                 previous: Manifest | None, existing: set[str], **write_options: int) -> None:
        self.conn, self.tenant_id, self.store = conn, tenant_id, store
        self.publish_id, self.previous, self.existing = publish_id, previous, existing
        self.folder = tenant_folder(tenant_id)
        self.write_options = write_options
        self.written: list[str] = []  # store keys, so a failed publish can remove its own files

    def _write(self, ts: TableSchema, query: str, params: dict | None, subdir: str,
               result: TableResult, *, keep_empty: bool = False, day: str | None = None) -> list[FileEntry]:
        entries: list[FileEntry] = []

        def upload(f: WrittenFile) -> None:
            rel = f"{subdir}/part-{self.publish_id}-{f.path.stem}.parquet"
            self.store.put_file(f"{self.folder}/{rel}", f.path)
            self.written.append(f"{self.folder}/{rel}")
            entries.append(FileEntry(rel, f.rows, f.bytes, day))
            result.files_written += 1
            result.rows_written += f.rows
            result.bytes_written += f.bytes

        write_query(self.conn, query, params, ts.arrow, upload, keep_empty=keep_empty, **self.write_options)
        return entries

    def _select(self, ts: TableSchema, where: str = "", order: list[str] | None = None) -> str:
        order_by = f" ORDER BY {', '.join(quote_ident(c) for c in order)}" if order else ""
        return (f"SELECT {ts.select_list()} FROM {quoted_schema(self.tenant_id)}.{quote_ident(ts.table)}"
                f"{where}{order_by}")

    def _all_exist(self, files: list[FileEntry]) -> bool:
        return all(f"{self.folder}/{f.key}" in self.existing for f in files)

    def publish(self, name: str) -> tuple[TableEntry, TableResult]:
        return self.log_events() if name == snap.LOG_EVENTS else self.table(name)

    def table(self, name: str) -> tuple[TableEntry, TableResult]:
        ts = table_schema(self.conn, self.tenant_id, name)
        result = TableResult()
        # Sorted by primary key: the same data gives the same files, and readers get useful stats.
        query = self._select(ts, order=snap.primary_key(self.conn, self.tenant_id, name))
        files = self._write(ts, query, None, name, result, keep_empty=True)
        result.rows = sum(f.rows for f in files)
        return TableEntry(ts.describe(), result.rows, files), result

    def log_events(self) -> tuple[TableEntry, TableResult]:
        ts = table_schema(self.conn, self.tenant_id, snap.LOG_EVENTS)
        if any(c.name == DATE_PARTITION for c in ts.columns):
            raise ValueError(f"log_events has a column named {DATE_PARTITION!r}, the partition column")
        days = snap.log_event_days(self.conn, self.tenant_id)
        old = self.previous.tables.get(snap.LOG_EVENTS) if self.previous else None
        # Files of another schema or layout cannot be mixed with new ones: then every day is rewritten.
        if old and (old.days is None or old.partitioning != DATE_PARTITION or old.schema != ts.describe()):
            old = None
        query = self._select(ts, " WHERE published >= %(start)s AND published < %(end)s",
                             ["published", "uuid"])
        result, files = TableResult(), []
        for day, stats in days.items():
            kept = [f for f in old.files if f.date == day] if old else []
            if old and old.days.get(day) == stats and kept and self._all_exist(kept):
                files += kept
                result.days_kept.append(day)
                result.files_kept += len(kept)
                continue
            start = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
            new = self._write(ts, query, {"start": start, "end": start + timedelta(days=1)},
                              f"{snap.LOG_EVENTS}/{DATE_PARTITION}={day}", result, day=day)
            if sum(f.rows for f in new) != stats.rows:  # one snapshot: a mismatch is a bug here
                raise RuntimeError(f"log_events {day}: wrote {sum(f.rows for f in new)} rows, "
                                   f"counted {stats.rows}")
            files += new
            result.days_written.append(day)
        result.rows = sum(s.rows for s in days.values())
        return TableEntry(ts.describe(), result.rows, files, DATE_PARTITION, days), result


def _previous(store: ExtractStore, tenant_id: str) -> Manifest | None:
    try:
        return read_manifest(store, tenant_id)
    except (ManifestError, ValueError, KeyError, TypeError) as exc:
        # An unreadable manifest (e.g. an older format) only costs a full rewrite.
        log.warning("tenant %s: ignoring the existing extract manifest (%s)", tenant_id, exc)
        return None


def publish_tenant(engine: sa.Engine, tenant_id: str, store: ExtractStore,
                   tables: list[str] | None = None, **write_options: int) -> PublishResult:
    """Publish the tenant's tables (default: every base table but bookkeeping) to `store`.

    Args:
        engine: the warehouse engine.
        tenant_id: a valid tenant id; its schema `okta_<id>` must exist.
        store: a `LocalStore` or `S3Store` (see `stores.store_from_url`).
        tables: the tables the new extract holds; tables of the previous extract not listed are
            removed from it.
        write_options: `batch_rows`, `row_group_rows`, `max_rows_per_file` (see `writer.py`).

    Returns:
        What was written: files, rows and bytes (kept System Log days are not counted).
    """
    validate_tenant_id(tenant_id)
    folder = tenant_folder(tenant_id)
    publish_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    with snap.tenant_publish_lock(engine, tenant_id):
        previous = _previous(store, tenant_id)
        existing = set(store.list(folder))
        publisher = None
        try:
            with snap.snapshot(engine) as conn:
                taken = snap.snapshot_time(conn).astimezone(timezone.utc)
                mark = snap.log_events_mark(conn, tenant_id)
                publisher = _Publisher(conn, tenant_id, store, publish_id, previous, existing, **write_options)
                entries, results = {}, {}
                for name in snap.tenant_tables(conn, tenant_id, tables):
                    entries[name], results[name] = publisher.publish(name)
        except BaseException:
            if publisher is not None:
                _discard(store, publisher.written)
            raise
        manifest = Manifest(tenant_id, publish_id, taken.isoformat(),
                            mark.astimezone(timezone.utc).isoformat() if mark else None, entries)
        store.put_bytes(manifest_key(tenant_id), manifest.to_json())
        # Only after the switch: whatever the new manifest does not name is no longer live.
        live = manifest.file_keys()
        stale = [k for k in store.list(folder) if k.endswith(".parquet") and k not in live]
        store.delete(stale)
    return PublishResult(
        tenant_id, publish_id, manifest_key(tenant_id), store.location(manifest_key(tenant_id)),
        manifest.snapshot_time, manifest.log_events_mark, list(publisher.written),
        sum(r.rows_written for r in results.values()), sum(r.bytes_written for r in results.values()),
        results, stale,
    )


def _discard(store: ExtractStore, keys: list[str]) -> None:
    """Best effort: remove a failed publish's files (the next publish removes any left over)."""
    try:
        store.delete(keys)
    except Exception as exc:  # the original error matters more than this one
        log.warning("could not remove %d file(s) of a failed extract publish: %s", len(keys), exc)
