"""The run queue: Dagster's QueuedRunCoordinator, plus the tenant tag on every run it admits.

dagster.yaml limits runs to one per `oktually/tenant` value. Schedules and sensors set that tag
themselves, but runs Dagster creates on its own do not: a single-partition run only gets
`dagster/partition/tenant`, and a ranged run (a System Log backfill launched from the UI, which
`BackfillPolicy.single_run()` turns into one run per tenant and range) gets only
`dagster/asset_partition_range_start`/`_end`. Every run passes through the coordinator before it
is queued, so this is where the tag is derived from those tags, before the queue ever sees the run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import dagster as dg
from dagster._core.run_coordinator import QueuedRunCoordinator, SubmitRunContext

from oktually_pipeline.partitions import TENANT_DIMENSION
from oktually_pipeline.runs import TENANT_TAG
from oktually_pipeline.tenants import TENANT_ID_PATTERN

PARTITION_TENANT_TAG = f"dagster/partition/{TENANT_DIMENSION}"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"
TENANT_ID_RE = re.compile(TENANT_ID_PATTERN)


def _tenant_of_key(key: str | None) -> str | None:
    """The tenant of a `tenant` or `date|tenant` partition key (dimensions sort by name)."""
    if not key:
        return None
    parts = key.split("|")
    if len(parts) > 2:
        return None
    tenant = parts[-1]
    return tenant if TENANT_ID_RE.fullmatch(tenant) else None


def tenant_of_run(tags: Mapping[str, str]) -> str | None:
    """The one tenant a run's tags say it works on, or None (no tenant, or several)."""
    if tags.get(TENANT_TAG):
        return tags[TENANT_TAG]
    if tags.get(PARTITION_TENANT_TAG):
        return tags[PARTITION_TENANT_TAG]
    if PARTITION_TAG in tags:
        return _tenant_of_key(tags[PARTITION_TAG])
    start, end = _tenant_of_key(tags.get(RANGE_START_TAG)), _tenant_of_key(tags.get(RANGE_END_TAG))
    return start if start is not None and start == end else None


class TenantQueuedRunCoordinator(QueuedRunCoordinator):
    """QueuedRunCoordinator that tags each run with its tenant before queueing it."""

    def submit_run(self, context: SubmitRunContext) -> dg.DagsterRun:
        run = context.dagster_run
        tenant = None if TENANT_TAG in run.tags else tenant_of_run(run.tags)
        if tenant is not None:
            self._instance.add_run_tags(run.run_id, {TENANT_TAG: tenant})
            refreshed = self._instance.get_run_by_id(run.run_id)
            if refreshed is not None:
                context = SubmitRunContext(refreshed, context.workspace)
        return super().submit_run(context)
