"""The tenant sensor: keeps the `tenant` partitions in step with the tenant file, onboards new ones.

Its cursor records, per tenant, how many times it has onboarded it; the run keys carry that
number, so an evaluation that is retried never launches an onboarding twice, while a tenant that
is removed and added back is onboarded afresh.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta

import dagster as dg

from oktually_pipeline.automation import tenant_run_tags
from oktually_pipeline.jobs import okta_log_events_job, tenant_refresh_job
from oktually_pipeline.partitions import (
    TENANT_DIMENSION,
    tenant_day_key,
    tenant_partitions,
    today_utc,
)
from oktually_pipeline.resources import OktaResource
from oktually_pipeline.run_queue import RANGE_END_TAG, RANGE_START_TAG
from oktually_pipeline.runs import log_events_run_config
from oktually_pipeline.tenants import TenantConfigError

ONBOARDING_DAYS_ENV = "OKTUALLY_ONBOARDING_DAYS"
DEFAULT_ONBOARDING_DAYS = 7
# Okta keeps about 90 days of System Log; asking for more only returns nothing.
OKTA_RETENTION_DAYS = 90


def onboarding_days() -> int:
    """Days of System Log a new tenant gets: $OKTUALLY_ONBOARDING_DAYS (1..90), default 7."""
    raw = os.environ.get(ONBOARDING_DAYS_ENV, "").strip()
    if not raw:
        return DEFAULT_ONBOARDING_DAYS
    try:
        days = int(raw)
    except ValueError:
        raise TenantConfigError(f"{ONBOARDING_DAYS_ENV}={raw!r} is not a whole number of days") from None
    return max(1, min(days, OKTA_RETENTION_DAYS))


def onboarding_requests(tenant_id: str, generation: int, days: int, today: date) -> list[dg.RunRequest]:
    """A new tenant's System Log backfill over `days` days up to today, then its full state load.

    The log run is one ranged run (the asset's backfill policy is single_run); a tenant never read
    has no marks, so the state run reads every table whole.
    """
    first, last = tenant_day_key(tenant_id, today - timedelta(days=days - 1)), tenant_day_key(tenant_id, today)
    tags = tenant_run_tags(tenant_id, "onboarding")
    if days == 1:
        log_request = dg.RunRequest(
            run_key=f"onboard:{tenant_id}:{generation}:log", partition_key=str(last),
            run_config=log_events_run_config("auto"), tags=tags, job_name=okta_log_events_job.name,
        )
    else:
        log_request = dg.RunRequest(
            run_key=f"onboard:{tenant_id}:{generation}:log",
            run_config=log_events_run_config("auto"),
            tags={**tags, RANGE_START_TAG: str(first), RANGE_END_TAG: str(last)},
            job_name=okta_log_events_job.name,
        )
    state_request = dg.RunRequest(
        run_key=f"onboard:{tenant_id}:{generation}:state", partition_key=tenant_id, tags=tags,
        job_name=tenant_refresh_job.name,
    )
    return [log_request, state_request]


def _load_cursor(cursor: str | None) -> dict:
    try:
        state = json.loads(cursor) if cursor else {}
    except ValueError:
        state = {}
    if not isinstance(state, dict) or not isinstance(state.get("onboarded", {}), dict):
        state = {}
    state.setdefault("onboarded", {})
    return state


@dg.sensor(
    name="tenant_sensor",
    jobs=[okta_log_events_job, tenant_refresh_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Adds and removes `tenant` partitions to match the tenant file ($OKTUALLY_TENANTS) and "
        "onboards each new tenant: a full state load and a System Log backfill over "
        f"${ONBOARDING_DAYS_ENV} days (default {DEFAULT_ONBOARDING_DAYS})."
    ),
)
def tenant_sensor(context: dg.SensorEvaluationContext, okta: OktaResource):
    try:
        wanted = [t.id for t in okta.tenants()]
        days = onboarding_days()
    except TenantConfigError as exc:
        return dg.SkipReason(f"tenant file not usable, tenant partitions left unchanged: {exc}")
    existing = set(context.instance.get_dynamic_partitions(TENANT_DIMENSION))
    if not wanted and existing:
        return dg.SkipReason(
            f"the tenant file lists no tenants; refusing to remove all {len(existing)} tenant "
            "partitions at once (delete them in the UI if that is what you mean)"
        )
    added = [t for t in wanted if t not in existing]
    removed = sorted(existing - set(wanted))
    if not added and not removed:
        return dg.SkipReason(f"{len(wanted)} tenant(s); partitions already match the tenant file")

    state = _load_cursor(context.cursor)
    today = today_utc()
    run_requests: list[dg.RunRequest] = []
    for tenant_id in added:
        generation = int(state["onboarded"].get(tenant_id, 0)) + 1
        state["onboarded"][tenant_id] = generation
        run_requests += onboarding_requests(tenant_id, generation, days, today)
    state["tenants"] = wanted
    partition_requests = []
    if added:
        partition_requests.append(tenant_partitions.build_add_request(added))
    if removed:
        partition_requests.append(tenant_partitions.build_delete_request(removed))
    context.log.info(f"tenants added: {added or 'none'}; removed: {removed or 'none'}")
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=partition_requests,
        cursor=json.dumps(state, sort_keys=True),
    )
