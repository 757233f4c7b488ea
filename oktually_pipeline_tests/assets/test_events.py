"""The System Log asset through Dagster: per-tenant, per-day partitions, metadata, backfill ranges."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from oktually_pipeline.assets.events import okta_log_events
from oktually_pipeline.partitions import tenant_day_key, today_utc
from oktually_pipeline.resources import OktaResource, WarehouseResource
from oktually_pipeline.sandbox import Sandbox, SandboxConfig
from oktually_pipeline_tests.dagster_helpers import write_tenants


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(seed=5, tenants=4, users=60, events=1500, days=3)) as sb:
        yield sb


def resources(database_url: str) -> dict:
    return {"okta": OktaResource(), "warehouse": WarehouseResource(database_url=database_url)}


def count(engine: sa.Engine, tenant: str = "acme") -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM okta_{tenant}.log_events")).scalar_one()


def test_today_partition_polls_and_reports_metadata(sandbox, database_url, engine, tmp_path: Path, monkeypatch) -> None:
    write_tenants(tmp_path / "tenants.yaml", {"acme": sandbox}, monkeypatch)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["acme"])
        key = tenant_day_key("acme", today_utc())
        result = dg.materialize([okta_log_events], partition_key=str(key), instance=instance,
                                resources=resources(database_url),
                                run_config={"ops": {"okta_log_events": {"config": {"mode": "incremental"}}}})
        assert result.success
        metadata = result.asset_materializations_for_node("okta_log_events")[0].metadata
        # A tenant never read starts polling at the partition's day: today's events only.
        today_events = count(engine)
        assert metadata["rows_inserted"].value == today_events > 0
        assert metadata["high_water_mark"].value
        assert metadata["api_calls"].value >= 1
        assert "polling" in metadata["mode"].value


def test_backfill_range_rereads_past_days_in_one_run(sandbox, database_url, engine, tmp_path: Path, monkeypatch) -> None:
    write_tenants(tmp_path / "tenants.yaml", {"acme": sandbox}, monkeypatch)
    today = today_utc()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["acme"])
        start, end = tenant_day_key("acme", today - timedelta(days=3)), tenant_day_key("acme", today)
        result = dg.materialize(
            [okta_log_events], instance=instance, resources=resources(database_url),
            tags={"dagster/asset_partition_range_start": str(start), "dagster/asset_partition_range_end": str(end)},
        )
        assert result.success
        assert count(engine) == sandbox.events.count()
        runs = instance.get_runs()
        assert len(runs) == 1
