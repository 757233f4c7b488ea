"""The System Log sensor: asks each tenant's Okta, cheaply, whether it is ahead of the warehouse.

One `GET /api/v1/logs` with `limit=1` per tenant and tick: from the stored polling link when there
is one (Okta's own "what comes after the last page I served", which also sees events persisted
late), else `since` the stored `published` mark. An incremental run is requested only for tenants
with something new. The mark itself stays in Postgres (`okta_<id>.ingest_marks`), moved only with
its rows; the sensor's cursor only records what each tick saw, per tenant, as JSON.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit

import dagster as dg
import sqlalchemy as sa

from oktually_pipeline.automation import tenant_run_tags
from oktually_pipeline.ingest.log_events import LOGS_PATH, STREAM
from oktually_pipeline.jobs import okta_log_events_job
from oktually_pipeline.okta.client import OktaClient
from oktually_pipeline.okta.errors import OktaError, OktaRequestError
from oktually_pipeline.partitions import TENANT_DIMENSION, tenant_day_key, today_utc
from oktually_pipeline.resources import OktaResource, WarehouseResource
from oktually_pipeline.runs import log_events_run_config
from oktually_pipeline.tenants import TenantConfigError
from oktually_pipeline.warehouse.marks import Mark, read_mark
from oktually_pipeline.warehouse.schema import tenant_schema, use_tenant_schema

# Tenants are probed one after the other; a tick stops starting new probes after this long, and
# the next tick begins with the tenants probed longest ago.
TICK_BUDGET_SECONDS = 40.0


@dataclass(frozen=True)
class Probe:
    tenant: str
    mark: datetime | None
    behind: bool
    via: str
    newest_seen: str | None = None
    error: str | None = None


def stored_mark(engine: sa.Engine, tenant_id: str) -> Mark | None:
    """The tenant's System Log mark, or None if the tenant's log was never loaded."""
    with engine.connect() as conn, conn.begin():
        table = f"{tenant_schema(tenant_id)}.ingest_marks"
        if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None:
            return None
        use_tenant_schema(conn, tenant_id)
        mark = read_mark(conn, STREAM)
    return mark if mark.mark is not None or mark.cursor else None


def _iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _one_event_link(cursor: str) -> str:
    """The stored polling link, asking for a single event."""
    parts = urlsplit(cursor)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "limit"]
    return parts.path + "?" + urlencode([*query, ("limit", "1")])


def _is_stored(engine: sa.Engine, tenant_id: str, uuid: str) -> bool:
    with engine.connect() as conn, conn.begin():
        use_tenant_schema(conn, tenant_id)
        return conn.execute(sa.text("SELECT 1 FROM log_events WHERE uuid = :u"), {"u": uuid}).first() is not None


def probe_tenant(client: OktaClient, engine: sa.Engine, tenant_id: str, mark: Mark) -> Probe:
    """Is there an event in Okta that the warehouse does not hold yet? One GET, limit=1."""
    if mark.cursor:
        try:
            page = client.get_page(_one_event_link(mark.cursor))
            newest = page.items[0].get("published") if page.items else None
            return Probe(tenant_id, mark.mark, bool(page.items), "link", newest)
        except OktaRequestError:
            # Okta refuses links past its retention; the run will restart from the mark too.
            if mark.mark is None:
                return Probe(tenant_id, None, True, "link rejected")
    assert mark.mark is not None
    # Okta's `since` is inclusive and has millisecond precision: step past the stored event.
    since = mark.mark + timedelta(milliseconds=1)
    page = client.get_page(LOGS_PATH, {"since": _iso(since), "limit": 1, "sortOrder": "ASCENDING"})
    if not page.items:
        return Probe(tenant_id, mark.mark, False, "since")
    event = page.items[0]
    behind = not (isinstance(event, dict) and event.get("uuid") and _is_stored(engine, tenant_id, event["uuid"]))
    return Probe(tenant_id, mark.mark, behind, "since", event.get("published") if isinstance(event, dict) else None)


def catch_up_request(tenant_id: str, mark: Mark) -> dg.RunRequest:
    # The key moves whenever a run stores a page (the link or mark changes), so a tenant is asked
    # for once per position it is behind at, however many ticks see it behind.
    position = hashlib.sha1(f"{mark.cursor}|{mark.mark.isoformat() if mark.mark else ''}".encode()).hexdigest()[:16]
    return dg.RunRequest(
        run_key=f"catchup:{tenant_id}:{position}",
        partition_key=str(tenant_day_key(tenant_id, today_utc())),
        run_config=log_events_run_config("incremental"),
        tags=tenant_run_tags(tenant_id, "log-sensor"),
    )


def _load_cursor(cursor: str | None) -> dict[str, dict]:
    try:
        seen = json.loads(cursor) if cursor else {}
    except ValueError:
        return {}
    return {k: v for k, v in seen.items() if isinstance(v, dict)} if isinstance(seen, dict) else {}


@dg.sensor(
    name="okta_log_events_sensor",
    job=okta_log_events_job,
    minimum_interval_seconds=180,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Every few minutes, one limit=1 System Log request per tenant; an incremental run for "
        "each tenant whose Okta has events the warehouse does not."
    ),
)
def okta_log_events_sensor(
    context: dg.SensorEvaluationContext, okta: OktaResource, warehouse: WarehouseResource
):
    try:
        configured = {t.id for t in okta.tenants()}
    except TenantConfigError as exc:
        return dg.SkipReason(f"tenant file not usable: {exc}")
    partitions = set(context.instance.get_dynamic_partitions(TENANT_DIMENSION))
    seen = {t: v for t, v in _load_cursor(context.cursor).items() if t in partitions}
    tenants = sorted(configured & partitions, key=lambda t: (seen.get(t, {}).get("checked_at", ""), t))
    if not tenants:
        return dg.SkipReason("no tenant is both in the tenant file and a `tenant` partition yet")

    engine = warehouse.get_engine()
    requests: list[dg.RunRequest] = []
    notes: list[str] = []
    deadline = time.monotonic() + TICK_BUDGET_SECONDS
    for tenant_id in tenants:
        if time.monotonic() > deadline:
            notes.append(f"time budget spent; {tenant_id} and later tenants wait for the next tick")
            break
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        mark = stored_mark(engine, tenant_id)
        if mark is None:
            seen[tenant_id] = {"checked_at": now, "state": "not loaded yet (onboarding pending)"}
            notes.append(f"{tenant_id}: System Log never loaded, left to onboarding")
            continue
        try:
            with okta.client(tenant_id) as client:
                probe = probe_tenant(client, engine, tenant_id, mark)
        except (OktaError, TenantConfigError) as exc:
            seen[tenant_id] = {"checked_at": now, "mark": _iso(mark.mark) if mark.mark else None, "error": str(exc)}
            notes.append(f"{tenant_id}: probe failed: {exc}")
            continue
        seen[tenant_id] = {
            "checked_at": now, "mark": _iso(mark.mark) if mark.mark else None, "via": probe.via,
            "behind": probe.behind, "newest_seen": probe.newest_seen,
        }
        if probe.behind:
            requests.append(catch_up_request(tenant_id, mark))
    for note in notes:
        context.log.info(note)
    cursor = json.dumps(seen, sort_keys=True)
    if not requests:
        return dg.SensorResult(skip_reason="; ".join(notes) or f"{len(tenants)} tenant(s) up to date", cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)
