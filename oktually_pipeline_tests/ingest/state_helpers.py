"""Shared helpers for the state-loader tests: sandbox clients, loading everything, comparing tables."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from oktually_pipeline.ingest.log_events import pull_polling
from oktually_pipeline.ingest.state import LoadOptions, LoadResult, load_state
from oktually_pipeline.okta.auth import Secret, SswsAuth
from oktually_pipeline.okta.client import OktaClient
from oktually_pipeline.okta.endpoints import BY_TABLE, ENDPOINTS
from oktually_pipeline.warehouse.schema import ensure_tenant_schema, tenant_schema

# Tests write log events and read them back at once; production leaves a minute for stragglers.
FAST = LoadOptions(events_settle=timedelta(0))



def client_for(sb: Any, tenant_id: str = "acme") -> OktaClient:
    return OktaClient(sb.url, SswsAuth(Secret(sb.token)), tenant_id=tenant_id, max_backoff=0.05)


_clients: dict[tuple[str, str], OktaClient] = {}


def shared_client(sb: Any, tenant_id: str = "acme") -> OktaClient:
    """One client per sandbox and tenant for a test (building one costs a TLS context)."""
    key = (sb.url, tenant_id)
    if key not in _clients:
        _clients[key] = client_for(sb, tenant_id)
    return _clients[key]


def close_clients() -> None:
    while _clients:
        _clients.popitem()[1].close()


_ensured: set[tuple[str, str]] = set()


def ensure_schema(engine: sa.Engine, tenant_id: str) -> None:
    # Applying every DDL file takes a noticeable moment; once per test database is enough.
    key = (engine.url.render_as_string(hide_password=True), tenant_id)
    if key not in _ensured:
        ensure_tenant_schema(engine, tenant_id)
        _ensured.add(key)


def pull_events(sb: Any, engine: sa.Engine, tenant_id: str = "acme") -> None:
    """Bring log_events up to date, as the System Log asset would before the state assets run."""
    ensure_schema(engine, tenant_id)
    pull_polling(shared_client(sb, tenant_id), engine, tenant_id,
                 start=datetime.now(timezone.utc) - timedelta(days=30))


def load_all(sb: Any, engine: sa.Engine, tenant_id: str = "acme", options: LoadOptions = FAST,
             tables: tuple[str, ...] | None = None) -> dict[str, LoadResult]:
    ensure_schema(engine, tenant_id)
    client = shared_client(sb, tenant_id)
    return {ep.table: load_state(client, engine, tenant_id, ep, options)
            for ep in ENDPOINTS if tables is None or ep.table in tables}


def live_keys(engine: sa.Engine, table: str, tenant_id: str = "acme") -> set[tuple[str, ...]]:
    ep = BY_TABLE[table]
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            f"SELECT {', '.join(ep.key)} FROM {tenant_schema(tenant_id)}.{table} WHERE deleted_at IS NULL"))
        return {tuple(r) for r in rows}


def live_rows(engine: sa.Engine, table: str, tenant_id: str = "acme") -> dict[tuple[str, ...], dict[str, Any]]:
    """Live rows by key: every declared column and raw, without the bookkeeping columns."""
    ep = BY_TABLE[table]
    cols = (*ep.all_columns, "raw")
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            f"SELECT {', '.join(cols)} FROM {tenant_schema(tenant_id)}.{table} WHERE deleted_at IS NULL"))
        out = {}
        for r in rows:
            record = dict(zip(cols, r))
            out[tuple(record[k] for k in ep.key)] = record
        return out


def scalar(engine: sa.Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def org_truth(sb: Any) -> dict[str, set[tuple[str, ...]]]:
    """Every state table's live keys as the sandbox org holds them (`Org.snapshot()`, one entry per
    table): object tables keyed by id, the others by their key tuples."""
    snap = sb.org.snapshot()
    return {ep.table: {(k,) for k in snap[ep.table]} if ep.key == ("id",) else {tuple(k) for k in snap[ep.table]}
            for ep in ENDPOINTS}
