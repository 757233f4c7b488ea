"""Child endpoints (members, assignments, rules, roles, role targets): one call per parent.

So only the parents that need it are read: new parents, parents whose version token (a SQL
expression declared with the endpoint) differs from the one recorded with their children in
`child_sync`, parents a System Log event named since the last run (`dirty`), and, during a
reconciliation, parents not read since it began. Parents are read by a few workers, several per
transaction; each parent's children are replaced (upsert, then vanished rows deleted or marked)
together with its `child_sync` row, so a run killed part-way resumes where it stopped and never
records a parent as read without its children. Children of deleted parents and rows pointing at
deleted users or groups are removed first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from oktually_pipeline.ingest import state_sql as q
from oktually_pipeline.ingest.state_common import (
    Commits,
    LoadOptions,
    LoadResult,
    db_now,
    events_window,
    full_reason,
    open_stage,
    rows_of,
    stage,
    transaction,
)
from oktually_pipeline.okta.client import OktaClient
from oktually_pipeline.okta.endpoints import Endpoint, parse_time
from oktually_pipeline.okta.errors import OktaNotFoundError
from oktually_pipeline.warehouse.marks import advance_mark, read_mark


def load_children(client: OktaClient, engine: sa.Engine, tenant_id: str, ep: Endpoint,
                   opts: LoadOptions, result: LoadResult) -> None:
    co = ep.child_of
    assert co is not None
    with transaction(engine, tenant_id) as conn:
        run_start = db_now(conn)
        details = read_mark(conn, ep.stream).details
        reason = full_reason(details, run_start, opts)
        # Children of parents that are gone, and rows pointing at deleted objects.
        result.removed += conn.execute(sa.text(q.remove_orphans(ep))).rowcount
        conn.execute(sa.text(q.remove_orphan_syncs(ep)), {"stream": ep.stream})
        for sql in q.remove_deleted_refs(ep):
            result.removed += conn.execute(sa.text(sql)).rowcount
        new_details: dict[str, Any] = {"last_run_at": run_start.isoformat()}
        if co.refresh_events:
            since_ev, until_ev = events_window(conn, details, opts)
            if since_ev is not None:
                conn.execute(sa.text(q.mark_dirty_by_events(ep)), {
                    "stream": ep.stream, "since": since_ev, "until": until_ev,
                    **q.event_params(co.refresh_events)})
            new_details["events_until"] = until_ev.isoformat()
        reconcile_since = None
        if reason and ep.reconcile_children:
            # A re-run after a crash (even one asking for full_refresh again) resumes, not restarts.
            reconcile_since = parse_time(details.get("full_started_at")) or run_start
            new_details["full_started_at"] = reconcile_since.isoformat()
        advance_mark(conn, ep.stream, mark=None, details=new_details)
        parents = conn.execute(sa.text(q.parents_to_read(ep)),
                               {"stream": ep.stream, "reconcile_since": reconcile_since}).all()
    result.mode = "full_refresh" if reason else "incremental"
    result.reason = reason
    commits = Commits(ep.stream, opts.on_commit)
    lock = threading.Lock()

    def one_batch(batch: list[sa.Row]) -> None:
        counts = _read_parents(client, engine, tenant_id, ep, batch)
        with lock:
            result.parents_read += len(batch)
            for k, v in counts.items():
                setattr(result, k, getattr(result, k) + v)
        commits.done()

    size = max(1, opts.parents_per_batch)
    _run_all(one_batch, [parents[i:i + size] for i in range(0, len(parents), size)], max(1, opts.workers))
    if parents or reconcile_since is not None:
        with transaction(engine, tenant_id) as conn:
            done: dict[str, Any] = {"last_mode": result.mode}
            if reconcile_since is not None:
                done.update(last_full_at=reconcile_since.isoformat(), full_started_at=None)
            advance_mark(conn, ep.stream, mark=None, details=done)


def _run_all(fn: Callable[[Any], None], items: list[Any], workers: int) -> None:
    if workers == 1 or len(items) <= 1:
        for item in items:
            fn(item)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="okta-children")
    try:
        futures = [pool.submit(fn, item) for item in items]
        finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for f in finished:
            if f.exception() is not None:
                raise f.exception()  # type: ignore[misc]
    finally:
        # On a failure the batches not started are dropped; those in flight finish their transaction.
        pool.shutdown(wait=True, cancel_futures=True)


def _read_parents(client: OktaClient, engine: sa.Engine, tenant_id: str, ep: Endpoint,
                  parents: list[sa.Row]) -> dict[str, int]:
    """Re-read some parents' children and replace them, with each parent's child_sync row, in one
    transaction. The transaction stays open while their pages arrive."""
    assert ep.child_of is not None
    counts = {"pages": 0, "fetched": 0, "upserted": 0, "deleted_marked": 0, "removed": 0}
    gone_count = "deleted_marked" if ep.child_of.on_vanish == "mark" else "removed"
    params = {"limit": ep.page_size} if ep.page_size else None
    with transaction(engine, tenant_id) as conn:
        open_stage(conn, ep)
        read, missing = [], []
        for parent in parents:
            bound = tuple(getattr(parent, c) for c in ep.bound_columns)
            binds = dict(zip(ep.bound_columns, bound))
            path = ep.path.format(**{c: quote(str(v), safe="") for c, v in binds.items()})
            try:
                for page in client.iter_pages(path, params, envelope=ep.envelope):
                    rows, _ = rows_of(ep, page.items, bound)
                    stage(conn, ep, rows)
                    counts["pages"] += 1
                    counts["fetched"] += len(rows)
            except OktaNotFoundError:
                missing.append(binds)  # the parent is gone from Okta, and so are its children
            else:
                read.append(binds)
        counts["upserted"] += conn.execute(sa.text(q.upsert(ep))).rowcount
        for binds in read:
            counts[gone_count] += conn.execute(sa.text(q.vanish(ep)), binds).rowcount
            conn.execute(sa.text(q.upsert_sync(ep)), {**_sync_key(ep, binds), **binds})
        for binds in missing:
            # After the upsert: rows staged before a 404 mid-pagination go too.
            counts[gone_count] += conn.execute(sa.text(q.remove_children_of(ep)), binds).rowcount
            conn.execute(sa.text(q.DELETE_SYNC), _sync_key(ep, binds))
            mark_parent = q.mark_parent_gone(ep)
            if mark_parent:
                conn.execute(sa.text(mark_parent), binds)
    return counts


def _sync_key(ep: Endpoint, binds: dict[str, Any]) -> dict[str, Any]:
    return {"stream": ep.stream, "parent_key": [str(binds[c]) for c in ep.bound_columns]}
