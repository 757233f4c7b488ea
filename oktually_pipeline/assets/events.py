"""The System Log asset: each tenant's Okta events, partitioned by tenant and day."""

# No `from __future__ import annotations` here: Dagster reads the Config and resource annotations.


from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

import dagster as dg

from oktually_pipeline.ingest.log_events import PullResult, pull_bounded, pull_polling
from oktually_pipeline.partitions import (
    DATE_DIMENSION,
    TENANT_DIMENSION,
    tenant_day_partitions,
)
from oktually_pipeline.resources import OktaResource, WarehouseResource
from oktually_pipeline.warehouse.schema import ensure_tenant_schema, tenant_schema


class LogEventsConfig(dg.Config):
    """How a run reads the System Log.

    `auto` (the default, also for backfills from the UI): past days are re-read with bounded
    requests, today (or a tenant never read before) by polling from the stored cursor.
    `incremental`: only poll from the stored cursor (what the hourly schedule and sensor ask).
    `window`: re-read exactly the selected days with bounded requests.
    """

    mode: Literal["auto", "incremental", "window"] = "auto"
    overlap_minutes: int = 5
    page_limit: int = 1000
    resume_from_cursor: bool = True
    max_pages: int | None = None


def _selected_days(context: dg.AssetExecutionContext) -> dict[str, list[date]]:
    days: dict[str, list[date]] = defaultdict(list)
    for key in context.partition_keys:
        dims = dg.MultiPartitionKey.from_str(key).keys_by_dimension if not isinstance(
            key, dg.MultiPartitionKey) else key.keys_by_dimension
        days[dims[TENANT_DIMENSION]].append(date.fromisoformat(dims[DATE_DIMENSION]))
    return {tenant: sorted(set(ds)) for tenant, ds in days.items()}


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def _pull_tenant(
    context: dg.AssetExecutionContext, config: LogEventsConfig, okta: OktaResource,
    warehouse: WarehouseResource, tenant_id: str, days: list[date],
) -> list[PullResult]:
    engine = warehouse.get_engine()
    ensure_tenant_schema(engine, tenant_id)
    now = datetime.now(timezone.utc)
    today = now.date()
    overlap = timedelta(minutes=config.overlap_minutes)
    results: list[PullResult] = []

    def progress(r: PullResult) -> None:
        if r.pages % 50 == 0:
            context.log.info(f"{tenant_id}: {r.mode} pull, {r.pages} pages, {r.fetched} events so far")

    with okta.client(tenant_id) as client:
        past = [d for d in days if d < today]
        poll = config.mode == "incremental" or (config.mode == "auto" and (today in days or not past))
        if config.mode == "window" or (config.mode == "auto" and past):
            for start, end in _contiguous(past if config.mode == "auto" else days):
                results.append(pull_bounded(
                    client, engine, tenant_id, since=_midnight(start),
                    until=min(_midnight(end + timedelta(days=1)), now),
                    limit=config.page_limit, on_page=progress,
                ))
        if poll:
            results.append(pull_polling(
                client, engine, tenant_id, start=_midnight(days[0]), overlap=overlap,
                limit=config.page_limit, resume_from_cursor=config.resume_from_cursor,
                max_pages=config.max_pages, on_page=progress,
            ))
        headroom = client.pacer.lowest_headroom
        for r in results:
            r.extra.update(api_calls=client.requests_sent, retries=client.retries,
                           lowest_rate_limit_headroom=headroom)
    return results


def _contiguous(days: list[date]) -> list[tuple[date, date]]:
    ranges: list[tuple[date, date]] = []
    for day in days:
        if ranges and day == ranges[-1][1] + timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


@dg.asset(
    key="okta_log_events",
    partitions_def=tenant_day_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="okta_events",
    pool="okta_api",
    kinds={"postgres"},
    tags={"oktually/source": "okta"},
)
def okta_log_events(
    context: dg.AssetExecutionContext,
    config: LogEventsConfig,
    okta: OktaResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """The tenant's Okta System Log (`GET /api/v1/logs`) in Postgres table `okta_<tenant>.log_events`.

    One row per event, keyed and de-duplicated on `uuid`, with typed columns (published,
    event_type, actor, client IP, outcome, transaction) and the whole event as `raw` json.
    Incremental: polling resumes from Okta's `next` link stored in `ingest_marks` with the rows it
    covers, so late events are never skipped; past days are re-read with bounded queries.
    """
    selected = _selected_days(context)
    totals = {"fetched": 0, "inserted": 0, "pages": 0}
    per_tenant: dict[str, dict[str, object]] = {}
    for tenant_id, days in sorted(selected.items()):
        results = _pull_tenant(context, config, okta, warehouse, tenant_id, days)
        marks = [r.mark for r in results if r.mark]
        summary = {
            "modes": "+".join(f"{r.mode} ({r.started_from})" for r in results),
            "fetched": sum(r.fetched for r in results),
            "inserted": sum(r.inserted for r in results),
            "pages": sum(r.pages for r in results),
            "mark": max(marks).isoformat() if marks else None,
            **(results[-1].extra if results else {}),
        }
        per_tenant[tenant_id] = summary
        for k in totals:
            totals[k] += summary[k]  # type: ignore[operator]
        context.log.info(f"{tenant_id}: {summary}")
    only = next(iter(per_tenant.values())) if len(per_tenant) == 1 else None
    metadata: dict[str, object] = {
        "rows_fetched": totals["fetched"],
        "rows_inserted": totals["inserted"],
        "pages": totals["pages"],
        "tenants": ", ".join(sorted(per_tenant)),
        "table": ", ".join(f"{tenant_schema(t)}.log_events" for t in sorted(per_tenant)),
    }
    if only is not None:
        metadata.update({
            "mode": only["modes"],
            "high_water_mark": only["mark"],
            "api_calls": only.get("api_calls"),
            "retries": only.get("retries"),
            "lowest_rate_limit_headroom": only.get("lowest_rate_limit_headroom"),
        })
    else:
        metadata["per_tenant"] = dg.MetadataValue.json(per_tenant)
    return dg.MaterializeResult(metadata={k: v for k, v in metadata.items() if v is not None})
