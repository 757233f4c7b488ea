"""Hourly schedules: every tenant's System Log, and its state, brought up to date once an hour.

A Dagster schedule targets one job (a RunRequest's partition key is checked against the schedule's
own job, so `job_name=` cannot point a schedule at a second job), hence two schedules on the same
cron: one for `okta_log_events_job`, one for `tenant_refresh_job`. Both fan out over the `tenant`
partitions that the tenant sensor keeps in step with the tenant file, with run keys made of the
tenant and the hour, so a tick evaluated twice never launches a run twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dagster as dg

from oktually_pipeline.automation import tenant_run_tags
from oktually_pipeline.jobs import okta_log_events_job, tenant_refresh_job
from oktually_pipeline.partitions import TENANT_DIMENSION, tenant_day_key
from oktually_pipeline.runs import log_events_run_config

# Five past the hour: Okta persists events a little after their `published` time.
HOURLY_CRON = "5 * * * *"


def closed_hour(tick: datetime | None) -> datetime:
    """Start (UTC) of the last whole hour before `tick` (now when None)."""
    tick = (tick or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return tick.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def _tenants(context: dg.ScheduleEvaluationContext) -> list[str]:
    return sorted(context.instance.get_dynamic_partitions(TENANT_DIMENSION))


def _no_tenants() -> dg.SkipReason:
    return dg.SkipReason("no tenant partitions yet: the tenant sensor adds them from the tenant file")


@dg.schedule(
    name="okta_log_events_hourly",
    cron_schedule=HOURLY_CRON,
    job=okta_log_events_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Each tenant's System Log: an incremental pull covering the hour that just closed.",
)
def okta_log_events_hourly(context: dg.ScheduleEvaluationContext):
    hour = closed_hour(context.scheduled_execution_time)
    tenants = _tenants(context)
    if not tenants:
        return _no_tenants()
    window = f"{hour:%Y-%m-%dT%H}:00Z/{hour + timedelta(hours=1):%Y-%m-%dT%H}:00Z"
    return [
        dg.RunRequest(
            run_key=f"log:{tenant}:{hour:%Y-%m-%dT%H}",
            # The day holding the closed hour: at 00:05 that is yesterday's partition.
            partition_key=str(tenant_day_key(tenant, hour)),
            run_config=log_events_run_config("incremental"),
            tags=tenant_run_tags(tenant, "schedule", window=window),
        )
        for tenant in tenants
    ]


@dg.schedule(
    name="tenant_refresh_hourly",
    cron_schedule=HOURLY_CRON,
    job=tenant_refresh_job,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Each tenant's state (incremental pull), the models built on it, and its extract.",
)
def tenant_refresh_hourly(context: dg.ScheduleEvaluationContext):
    hour = closed_hour(context.scheduled_execution_time)
    tenants = _tenants(context)
    if not tenants:
        return _no_tenants()
    return [
        dg.RunRequest(
            run_key=f"state:{tenant}:{hour:%Y-%m-%dT%H}",
            partition_key=tenant,
            tags=tenant_run_tags(tenant, "schedule"),
        )
        for tenant in tenants
    ]


schedules = [okta_log_events_hourly, tenant_refresh_hourly]
