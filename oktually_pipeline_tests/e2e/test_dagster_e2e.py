"""The pipeline as its users run it: webserver + daemon on Postgres, a backfill through GraphQL.

Slow (real processes), but part of `make test`. The browser test reuses the same servers.
"""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa

from oktually_pipeline.runs import TENANT_TAG
from oktually_pipeline.warehouse.engine import create_engine
from oktually_pipeline_tests.e2e.conftest import (
    REPOSITORY,
    TENANT,
    TIMED,
    FinishedBackfill,
    Stack,
)

pytestmark = pytest.mark.slow


def test_a_tenant_backfill_from_graphql_runs_as_one_tagged_run(
    dagster_stack: Stack, finished_backfill: FinishedBackfill
):
    runs = finished_backfill.runs
    # BackfillPolicy.single_run(): two days of one tenant make one run, not one per day.
    assert len(runs) == 1, [r.tags for r in runs]
    run = runs[0]
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert run.tags["dagster/asset_partition_range_start"] == f"{finished_backfill.days[0]}|{TENANT}"
    assert run.tags["dagster/asset_partition_range_end"] == f"{finished_backfill.days[-1]}|{TENANT}"
    # Nobody set it in the launch: the run queue derived it from the range.
    assert run.tags[TENANT_TAG] == TENANT

    engine = create_engine(dagster_stack.env["OKTUALLY_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            per_day = dict(conn.execute(sa.text(
                "SELECT published::date::text, count(*) FROM okta_acme.log_events GROUP BY 1")).all())
    finally:
        engine.dispose()
    assert all(per_day.get(day, 0) > 0 for day in finished_backfill.days), per_day

    with dagster_stack.instance() as instance:
        materialized = instance.get_materialized_partitions(dg.AssetKey("okta_log_events"))
    assert {f"{day}|{TENANT}" for day in finished_backfill.days} <= set(materialized)


def test_the_schedules_and_sensors_are_loaded_and_on(dagster_stack: Stack):
    repo = dagster_stack.graphql(REPOSITORY)["repositoriesOrError"]["nodes"][0]
    schedules = {s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]}
    sensors = {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
    assert set(schedules) == {"okta_log_events_hourly", "tenant_refresh_hourly"}
    assert {"tenant_sensor", "okta_log_events_sensor", "run_failure_alerts",
            "derived_automation_sensor"} <= set(sensors)
    # On by default; only the ones the fixture switched off are stopped.
    stopped = {*TIMED["schedules"], *TIMED["sensors"]}
    assert {n for n, status in {**schedules, **sensors}.items() if status != "RUNNING"} == stopped
