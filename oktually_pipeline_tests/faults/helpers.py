"""Shared by the fault suite: databases, sandbox truth, and the invariants every fault must keep.

The invariants, checked after every fault (a crash, a dropped connection, a page that never
parses) and not only at the end:

* nothing phantom: every stored System Log event is one Okta has;
* marks never ahead of data: the log_events mark equals max(published) stored (or both are empty);
  a state stream's mark is at most the newest lastUpdated its table holds;

and once the faults stop and the pipeline runs again, every table equals the sandbox's truth.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from oktually_pipeline.ingest.log_events import pull_polling
from oktually_pipeline.ingest.state import LoadOptions, load_state
from oktually_pipeline.okta.auth import Secret, SswsAuth
from oktually_pipeline.okta.client import OktaClient
from oktually_pipeline.okta.endpoints import ENDPOINTS, Endpoint, parse_time
from oktually_pipeline.sandbox import Sandbox
from oktually_pipeline.warehouse.engine import create_engine
from oktually_pipeline.warehouse.schema import ensure_tenant_schema, tenant_schema
from oktually_pipeline_tests.ingest.state_helpers import live_keys, org_truth

# Small pages, so a small org still spans several pages and transactions.
LOG_LIMIT = 100
PAGE_SIZES = {"users": 20, "groups": 6, "apps": 3, "group_members": 5, "app_users": 4}
# Streams whose mark is the newest of these columns.
MARK_COLUMNS = {"users": ("last_updated",), "groups": ("last_updated", "last_membership_updated"),
                "apps": ("last_updated",), "idps": ("last_updated",), "policies": ("last_updated",)}


def small_batches(options_type: type) -> dict[str, Any]:
    """Few parents per children transaction, so a membership pull spans several commits."""
    return {"parents_per_batch": 2} if "parents_per_batch" in getattr(options_type, "__dataclass_fields__", {}) else {}


FAST = LoadOptions(events_settle=timedelta(0), workers=2, **small_batches(LoadOptions))


def endpoints() -> tuple[Endpoint, ...]:
    """The real endpoint declarations, with small pages."""
    return tuple(dataclasses.replace(ep, page_size=PAGE_SIZES[ep.table]) if ep.table in PAGE_SIZES and ep.page_size
                 else ep for ep in ENDPOINTS)



@contextmanager
def warehouse(url: str, *tenants: str) -> Iterator[sa.Engine]:
    engine = create_engine(url)
    for tenant in tenants:
        ensure_tenant_schema(engine, tenant)
    try:
        yield engine
    finally:
        engine.dispose()


def client_for(sb: Sandbox, tenant: str, **kw: Any) -> OktaClient:
    kw.setdefault("max_backoff", 0.05)
    return OktaClient(sb.url, SswsAuth(Secret(sb.token)), tenant_id=tenant, **kw)


def log_start(sb: Sandbox) -> datetime:
    return datetime.now(timezone.utc) - timedelta(days=sb.config.days + 1)


def pull_log(sb: Sandbox, engine: sa.Engine, tenant: str, **kw: Any) -> None:
    with client_for(sb, tenant, max_attempts=kw.pop("max_attempts", 6)) as client:
        pull_polling(client, engine, tenant, start=log_start(sb), limit=LOG_LIMIT, **kw)


def load_all_state(sb: Sandbox, engine: sa.Engine, tenant: str, options: LoadOptions = FAST,
                   max_attempts: int = 6) -> None:
    with client_for(sb, tenant, max_attempts=max_attempts) as client:
        for ep in endpoints():
            load_state(client, engine, tenant, ep, options)


# -- the System Log --------------------------------------------------------------------------


def stored_events(engine: sa.Engine, tenant: str) -> dict[str, datetime]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(f"SELECT uuid, published FROM {tenant_schema(tenant)}.log_events")).all())


def log_mark(engine: sa.Engine, tenant: str) -> tuple[datetime | None, str | None]:
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            f"SELECT mark, cursor FROM {tenant_schema(tenant)}.ingest_marks WHERE stream = 'log_events'")).first()
    return (row.mark, row.cursor) if row else (None, None)


def assert_log_consistent(sb: Sandbox, engine: sa.Engine, tenant: str) -> None:
    rows = stored_events(engine, tenant)
    truth = sb.events.truth()
    phantom = set(rows) - set(truth)
    assert not phantom, f"events Okta never had: {sorted(phantom)[:3]}"
    mark, _ = log_mark(engine, tenant)
    assert mark == (max(rows.values()) if rows else None), "log_events mark is not max(published) stored"


def assert_log_complete(sb: Sandbox, engine: sa.Engine, tenant: str) -> None:
    rows = stored_events(engine, tenant)
    truth = sb.events.truth()
    missing, extra = set(truth) - set(rows), set(rows) - set(truth)
    assert not missing and not extra, f"{len(missing)} events missing, {len(extra)} extra"
    wrong = [u for u, p in truth.items() if parse_time(p) != rows[u]]
    assert not wrong, f"published differs for {wrong[:3]}"
    with engine.connect() as conn:
        count, distinct = conn.execute(sa.text(
            f"SELECT count(*), count(DISTINCT uuid) FROM {tenant_schema(tenant)}.log_events")).one()
    assert count == distinct == len(truth)
    assert_log_consistent(sb, engine, tenant)


# -- state ------------------------------------------------------------------------------------


def assert_state_consistent(engine: sa.Engine, tenant: str) -> None:
    """No state mark is ahead of the newest version its table stores; keys are unique."""
    schema = tenant_schema(tenant)
    with engine.connect() as conn:
        marks = dict(conn.execute(sa.text(f"SELECT stream, mark FROM {schema}.ingest_marks")).all())
        for stream, columns in MARK_COLUMNS.items():
            if marks.get(stream) is None:
                continue
            newest = conn.execute(sa.text(
                f"SELECT max(greatest({', '.join(columns)})) FROM {schema}.{stream}")).scalar()
            assert newest is not None and marks[stream] <= newest, (
                f"{stream}: mark {marks[stream]} is ahead of the newest stored row {newest}")
        for ep in ENDPOINTS:
            dupes = conn.execute(sa.text(
                f"SELECT count(*) - count(DISTINCT ({', '.join(ep.key)})) FROM {schema}.{ep.table}")).scalar()
            assert dupes == 0, f"{ep.table}: duplicate keys"


def assert_state_complete(sb: Sandbox, engine: sa.Engine, tenant: str) -> None:
    for table, keys in org_truth(sb).items():
        got = live_keys(engine, table, tenant)
        assert got == keys, f"{table}: missing {sorted(keys - got)[:3]}, extra {sorted(got - keys)[:3]}"
    snap = sb.org.snapshot()
    with engine.connect() as conn:
        for table in ("users", "groups"):
            stored = dict(conn.execute(sa.text(
                f"SELECT id, last_updated FROM {tenant_schema(tenant)}.{table} WHERE deleted_at IS NULL")).all())
            stale = [k for k, v in snap[table].items() if parse_time(v["lastUpdated"]) != stored.get(k)]
            assert not stale, f"{table}: stale rows {stale[:3]}"
    assert_state_consistent(engine, tenant)


def mutate_org(sb: Sandbox, rng: random.Random) -> None:
    """A few changes of the kinds the incremental loaders must notice (no deletions: those are the
    System Log's and the reconciliation's job, tested elsewhere)."""
    org = sb.org
    snap = org.snapshot()
    users = sorted(u for u, v in snap["users"].items() if v["status"] == "ACTIVE")
    groups = sorted(g for g, v in snap["groups"].items() if v.get("type") != "BUILT_IN")
    for _ in range(2):
        g, u = rng.choice(groups), rng.choice(users)
        if (g, u) in snap["group_members"]:
            org.remove_member(g, u)
        else:
            org.add_member(g, u)
    org.update_user(rng.choice(users), firstName=f"Changed{rng.randrange(10**6)}")
    new = org.create_user(tenant=None)["id"]
    org.add_member(rng.choice(groups), new)
