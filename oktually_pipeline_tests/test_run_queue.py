"""The run queue tags every run with its tenant, whatever created it."""

from __future__ import annotations

import dagster as dg
import pytest
from dagster._core.remote_origin import (
    InProcessCodeLocationOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.run_coordinator import SubmitRunContext
from dagster._core.test_utils import create_run_for_test
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from oktually_pipeline.dev import dagster_pg_url
from oktually_pipeline.run_queue import TenantQueuedRunCoordinator, tenant_of_run
from oktually_pipeline.runs import TENANT_TAG, prepare_dagster_home

RANGE = {"dagster/asset_partition_range_start": "2026-11-20|acme",
         "dagster/asset_partition_range_end": "2026-11-25|acme"}


ORIGIN = RemoteRepositoryOrigin(
    InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="oktually_pipeline.definitions")),
    "__repository__",
)


def _run(instance: dg.DagsterInstance, job_name: str, tags: dict[str, str]) -> dg.DagsterRun:
    return create_run_for_test(instance, job_name=job_name, tags=tags,
                               remote_job_origin=ORIGIN.get_job_origin(job_name))


def _submit(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dg.DagsterRun:
    # instance.submit_run minus the workspace, which the queued coordinator does not use.
    return instance.run_coordinator.submit_run(SubmitRunContext(run, workspace=None))


@pytest.mark.parametrize(("tags", "tenant"), [
    ({TENANT_TAG: "globex"}, "globex"),
    ({"dagster/partition/tenant": "acme", "dagster/partition/date": "2026-11-25"}, "acme"),
    ({"dagster/partition": "acme"}, "acme"),
    ({"dagster/partition": "2026-11-25|acme"}, "acme"),
    (RANGE, "acme"),
    ({**RANGE, "dagster/asset_partition_range_end": "2026-11-25|globex"}, None),
    ({"dagster/asset_partition_range_start": "acme", "dagster/asset_partition_range_end": "acme"}, "acme"),
    ({"dagster/partition": "2026-11-25"}, None),
    ({}, None),
])
def test_tenant_of_run(tags, tenant):
    assert tenant_of_run(tags) == tenant


def test_a_ranged_backfill_run_is_queued_with_its_tenant_tag():
    overrides = {"run_coordinator": {"module": "oktually_pipeline.run_queue",
                                     "class": "TenantQueuedRunCoordinator"}}
    with dg.instance_for_test(overrides=overrides) as instance:
        assert isinstance(instance.run_coordinator, TenantQueuedRunCoordinator)
        run = _run(instance, "okta_log_events_job", {**RANGE, "dagster/backfill": "abcdef"})
        queued = _submit(instance, run)
        assert queued.status == dg.DagsterRunStatus.QUEUED
        assert queued.tags[TENANT_TAG] == "acme"
        assert instance.get_run_by_id(run.run_id).tags[TENANT_TAG] == "acme"


def test_the_repository_dagster_yaml_loads_with_the_tenant_coordinator(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DAGSTER_PG_URL", raising=False)
    home = prepare_dagster_home()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_coordinator, TenantQueuedRunCoordinator)
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert {"key": TENANT_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in limits
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"


def test_dagster_pg_url_gives_postgres_storage(tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAGSTER_PG_URL", dagster_pg_url(database_url))
    home = prepare_dagster_home()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        run = _run(instance, "tenant_refresh_job", {"dagster/partition": "acme"})
        assert _submit(instance, run).tags[TENANT_TAG] == "acme"
