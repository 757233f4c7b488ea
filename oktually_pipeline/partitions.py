"""Partitions: tenants are dynamic (kept in step with the tenant file); the System Log is also daily.

A day, not an hour, is the System Log's grain: tenants x hours passes Dagster's ~100k
partitions-per-asset guidance within months, tenants x days stays under it for ~270 tenant-years.
The hourly schedule re-materialises today's partition and the Postgres mark bounds the work.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import dagster as dg

from oktually_pipeline.tenants import validate_tenant_id

TENANT_DIMENSION = "tenant"
DATE_DIMENSION = "date"
# Changing the start date orphans materialisation history; Okta keeps only ~90 days anyway.
EVENTS_START_DATE = "2026-01-01"

tenant_partitions = dg.DynamicPartitionsDefinition(name=TENANT_DIMENSION)
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=EVENTS_START_DATE, timezone="UTC", end_offset=1
)
tenant_day_partitions = dg.MultiPartitionsDefinition(
    {DATE_DIMENSION: daily_partitions, TENANT_DIMENSION: tenant_partitions}
)


def tenant_day_key(tenant_id: str, day: date | datetime) -> dg.MultiPartitionKey:
    validate_tenant_id(tenant_id)
    return dg.MultiPartitionKey({DATE_DIMENSION: day.strftime("%Y-%m-%d"), TENANT_DIMENSION: tenant_id})


def today_utc() -> date:
    return datetime.now(timezone.utc).date()
