"""The hourly schedules, evaluated as the daemon would: ticks, run requests, run keys, tags."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg
import pytest

from oktually_pipeline.definitions import defs
from oktually_pipeline.runs import TENANT_TAG, log_events_run_config
from oktually_pipeline.schedules import (
    closed_hour,
    okta_log_events_hourly,
    tenant_refresh_hourly,
)


def _tick(instance: dg.DagsterInstance, schedule: dg.ScheduleDefinition, at: datetime):
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=at, repository_def=defs.get_repository_def()
    )
    return schedule.evaluate_tick(context)


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        inst.add_dynamic_partitions("tenant", ["acme", "globex"])
        yield inst


def test_log_schedule_requests_the_closed_hour_for_every_tenant(instance):
    result = _tick(instance, okta_log_events_hourly, datetime(2026, 11, 25, 10, 5, tzinfo=timezone.utc))
    requests = sorted(result.run_requests, key=lambda r: r.partition_key)
    assert [r.partition_key for r in requests] == ["2026-11-25|acme", "2026-11-25|globex"]
    assert [r.run_key for r in requests] == ["log:acme:2026-11-25T09", "log:globex:2026-11-25T09"]
    assert all(r.run_config == log_events_run_config("incremental") for r in requests)
    assert [r.tags[TENANT_TAG] for r in requests] == ["acme", "globex"]
    assert requests[0].tags["oktually/window"] == "2026-11-25T09:00Z/2026-11-25T10:00Z"
    assert requests[0].tags["oktually/trigger"] == "schedule"


def test_log_schedule_just_after_midnight_targets_yesterday(instance):
    result = _tick(instance, okta_log_events_hourly, datetime(2026, 11, 26, 0, 5, tzinfo=timezone.utc))
    keys = sorted(r.partition_key for r in result.run_requests)
    assert keys == ["2026-11-25|acme", "2026-11-25|globex"]
    assert sorted(r.run_key for r in result.run_requests) == ["log:acme:2026-11-25T23", "log:globex:2026-11-25T23"]


def test_state_schedule_requests_each_tenant_partition(instance):
    result = _tick(instance, tenant_refresh_hourly, datetime(2026, 11, 25, 10, 5, tzinfo=timezone.utc))
    requests = sorted(result.run_requests, key=lambda r: r.partition_key)
    assert [(r.partition_key, r.run_key, r.tags[TENANT_TAG]) for r in requests] == [
        ("acme", "state:acme:2026-11-25T09", "acme"),
        ("globex", "state:globex:2026-11-25T09", "globex"),
    ]


def test_same_tick_gives_the_same_run_keys_and_the_next_hour_new_ones(instance):
    at = datetime(2026, 11, 25, 10, 5, tzinfo=timezone.utc)
    first = {r.run_key for r in _tick(instance, okta_log_events_hourly, at).run_requests}
    again = {r.run_key for r in _tick(instance, okta_log_events_hourly, at).run_requests}
    later = {r.run_key for r in _tick(instance, okta_log_events_hourly, at.replace(hour=11)).run_requests}
    assert first == again
    assert not first & later


def test_schedules_skip_without_tenants():
    with dg.instance_for_test() as inst:
        for schedule in (okta_log_events_hourly, tenant_refresh_hourly):
            result = _tick(inst, schedule, datetime(2026, 11, 25, 10, 5, tzinfo=timezone.utc))
            assert not result.run_requests
            assert "tenant sensor" in result.skip_message


def test_closed_hour():
    assert closed_hour(datetime(2026, 11, 25, 10, 5, 30, tzinfo=timezone.utc)) == datetime(
        2026, 11, 25, 9, tzinfo=timezone.utc)


def test_a_schedule_cannot_request_a_second_job(instance):
    """Why there are two schedules: a RunRequest's partition is checked against the schedule's job."""

    @dg.schedule(cron_schedule="5 * * * *", job_name="okta_log_events_job")
    def both(context):
        return [dg.RunRequest(job_name="tenant_refresh_job", partition_key="acme", run_key="x")]

    merged = dg.Definitions.merge(defs, dg.Definitions(schedules=[both]))
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=datetime(2026, 11, 25, 10, 5, tzinfo=timezone.utc),
        repository_def=merged.get_repository_def(),
    )
    with pytest.raises(dg.DagsterUnknownPartitionError):
        merged.get_schedule_def("both").evaluate_tick(context)


def test_definitions_carry_schedules_and_sensors():
    assert {s.name for s in defs.schedules} == {"okta_log_events_hourly", "tenant_refresh_hourly"}
    assert {s.name for s in defs.sensors} >= {
        "tenant_sensor", "okta_log_events_sensor", "run_failure_alerts", "derived_automation_sensor"}
    for schedule in defs.schedules:
        assert schedule.cron_schedule == "5 * * * *"
        assert schedule.execution_timezone == "UTC"
