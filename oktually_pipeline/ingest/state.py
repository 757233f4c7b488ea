"""The one generic loader for Okta's state objects, driven by the declarations in `okta/endpoints.py`.

`load_state(client, engine, tenant_id, endpoint)` brings one table up to date:

* Top-level lists (users, groups, apps, idps, policies, role assignees) are read page by page,
  COPYed into a temp staging table and upserted (`ON CONFLICT (key) DO UPDATE`) in batches of
  `batch_rows`. The last batch commits in the transaction that also advances the stream's mark in
  `ingest_marks` and marks rows deleted (System Log delete events; after a complete read, the rows
  it did not touch), so the mark never moves ahead of its rows and a killed run re-reads from the
  old mark. Incremental lists ask for `lastUpdated gt (mark - overlap)`: Okta's search is
  eventually consistent and stamps milliseconds; the upsert de-duplicates the overlap.
* Child endpoints (members, assignments, rules, roles, role targets): see `state_children.py`.
* A full reconciliation (`full_refresh`, or automatically when the last one is older than
  `reconcile_every`) re-reads everything and marks what is gone; a row that reappears is revived.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from oktually_pipeline.ingest import state_sql as q
from oktually_pipeline.ingest.state_children import load_children
from oktually_pipeline.ingest.state_common import (
    Commits,
    LoadOptions,
    LoadResult,
    Row,
    db_now,
    events_window,
    full_reason,
    open_stage,
    rows_of,
    stage,
    transaction,
)
from oktually_pipeline.okta.client import OktaClient
from oktually_pipeline.okta.endpoints import Endpoint, okta_time
from oktually_pipeline.okta.errors import OktaAuthError, OktaRequestError
from oktually_pipeline.warehouse.marks import advance_mark, read_mark
from oktually_pipeline.warehouse.schema import refresh_statistics

__all__ = ["LoadOptions", "LoadResult", "load_state"]

log = logging.getLogger(__name__)

FEATURE_NOT_ENABLED = "E0000015"


def load_state(
    client: OktaClient, engine: sa.Engine, tenant_id: str, ep: Endpoint,
    options: LoadOptions | None = None,
) -> LoadResult:
    """Bring `ep`'s table in the tenant's schema up to date with Okta. The schema must exist."""
    opts = options or LoadOptions()
    result = LoadResult(stream=ep.stream, child=ep.child_of is not None)
    calls_before = client.requests_sent
    try:
        if ep.child_of:
            load_children(client, engine, tenant_id, ep, opts, result)
        else:
            _load_list(client, engine, tenant_id, ep, opts, result)
    finally:
        result.api_calls = client.requests_sent - calls_before
    refresh_statistics(engine, tenant_id, ep.table, result.upserted + result.deleted_marked + result.removed)
    return result


# -- top-level lists ------------------------------------------------------------------------


def _pages(client: OktaClient, ep: Endpoint, since: datetime | None, full: bool,
           skip: set[str], ok: list[str], refused: list[str], result: LoadResult) -> Iterator[list[Any]]:
    params: dict[str, Any] = {"limit": ep.page_size} if ep.page_size else {}
    if ep.incremental:
        assert ep.incremental_param and ep.incremental_condition
        params[ep.incremental_param] = ep.incremental_condition.format(since=okta_time(since))
    slices: tuple[tuple[str, str] | None, ...] = ep.fan_out or (None,)
    for sl in slices:
        if sl is not None and sl[1] in skip and not full:
            refused.append(sl[1])
            continue
        try:
            for page in client.iter_pages(ep.path, {**params, **dict([sl] if sl else [])},
                                          envelope=ep.envelope):
                result.pages += 1
                yield page.items
        except (OktaRequestError, OktaAuthError) as exc:
            if sl is None or (isinstance(exc, OktaAuthError) and exc.error_code != FEATURE_NOT_ENABLED):
                raise
            # An org without this policy type (Classic vs OIE) answers 400, or 401 E0000015 for a
            # feature it lacks; the slice is skipped until the next reconciliation retries it.
            log.info("%s: Okta refused %s=%s (%s); skipped", ep.table, sl[0], sl[1], exc.error_code or exc.status)
            refused.append(sl[1])
            continue
        if sl is not None:
            ok.append(sl[1])


def _load_list(client: OktaClient, engine: sa.Engine, tenant_id: str, ep: Endpoint,
               opts: LoadOptions, result: LoadResult) -> None:
    with transaction(engine, tenant_id) as conn:
        run_start = db_now(conn)
        stored = read_mark(conn, ep.stream)
    details = stored.details
    # Lists read whole every run still reconcile on schedule: that is when refused slices are retried.
    reason = full_reason(details, run_start, opts)
    full = reason is not None
    complete = full or not ep.incremental  # a read of the whole list: what it misses is gone
    result.mode = "full_refresh" if full else ("incremental" if ep.incremental else "full_list")
    result.reason = reason
    since = None if complete or stored.mark is None else stored.mark - opts.overlap
    ok: list[str] = []
    refused: list[str] = []
    commits = Commits(ep.stream, opts.on_commit)
    newest: datetime | None = None

    def write(conn: sa.Connection, rows: list[Row]) -> None:
        if rows:
            open_stage(conn, ep)
            stage(conn, ep, rows)
            result.upserted += conn.execute(sa.text(q.upsert(ep))).rowcount

    pending: list[Row] = []
    for items in _pages(client, ep, since, full, set(details.get("refused", [])), ok, refused, result):
        rows, page_newest = rows_of(ep, items)
        result.fetched += len(rows)
        if page_newest and (newest is None or page_newest > newest):
            newest = page_newest
        # Flushed only when another page has arrived, so the last rows always wait for the mark.
        if len(pending) >= opts.batch_rows:
            with transaction(engine, tenant_id) as conn:
                write(conn, pending)
            commits.done()
            pending = []
        pending.extend(rows)

    # The last batch, the deletions and the mark commit together.
    with transaction(engine, tenant_id) as conn:
        write(conn, pending)
        new_details: dict[str, Any] = {"last_run_at": run_start.isoformat(), "last_mode": result.mode}
        if complete:
            params: dict[str, Any] = {"run_start": run_start}
            if ep.fan_out_column:
                params["slices"] = ok
            result.deleted_marked += conn.execute(sa.text(q.sweep(ep)), params).rowcount
        if full:
            new_details["last_full_at"] = run_start.isoformat()
        if ep.fan_out:
            # Remembered so later runs skip them; a reconciliation asks again and starts this afresh.
            new_details["refused"] = sorted(set(refused))
        if ep.delete_events:
            since_ev, until_ev = events_window(conn, details, opts)
            if since_ev is not None:
                result.deleted_marked += conn.execute(
                    sa.text(q.mark_deleted_by_events(ep)),
                    {"since": since_ev, "until": until_ev, **q.event_params(ep.delete_events)},
                ).rowcount
            new_details["events_until"] = until_ev.isoformat()
        advance_mark(conn, ep.stream, mark=newest, details=new_details)
        result.mark = read_mark(conn, ep.stream).mark
    commits.done()
    result.refused = sorted(set(refused))
