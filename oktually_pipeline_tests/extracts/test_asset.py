"""The parquet_extract asset through Dagster, to a local folder and to S3 (moto)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from dagster_aws.s3 import S3Resource

from oktually_pipeline.assets.extracts import parquet_extract
from oktually_pipeline.extracts.reader import open_table
from oktually_pipeline.extracts.resource import ExtractsResource
from oktually_pipeline.okta.endpoints import ENDPOINTS
from oktually_pipeline.resources import WarehouseResource
from oktually_pipeline_tests.extracts.conftest import DAY0, REGION, S3Env, add_events
from oktually_pipeline_tests.extracts.helpers import assert_matches_postgres


def run(instance: dg.DagsterInstance, database_url: str, extracts: ExtractsResource) -> dict:
    result = dg.materialize(
        [parquet_extract], partition_key="acme", instance=instance,
        resources={"warehouse": WarehouseResource(database_url=database_url), "extracts": extracts,
                   "s3": S3Resource(region_name=REGION)},
    )
    assert result.success
    return {k: v.value for k, v in result.asset_materializations_for_node("parquet_extract")[0].metadata.items()}


def test_asset_publishes_and_reports_what_it_wrote(seeded: sa.Engine, database_url: str, tmp_path: Path,
                                                    monkeypatch) -> None:
    monkeypatch.setenv("OKTUALLY_EXTRACTS_URL", str(tmp_path / "out"))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["acme"])
        first = run(instance, database_url, ExtractsResource())
        # One file per day of events (3) and per state table, empty ones too.
        assert first["files_written"] == 3 + len(ENDPOINTS) and first["rows_written"] == 93 + 40 + 5 + 40 + 1
        assert first["bytes_written"] > 0
        assert first["manifest"] == str(tmp_path / "out" / "tenant=acme" / "_manifest.json")
        assert first["log_event_days_written"] == "2026-03-01, 2026-03-02, 2026-03-03"
        assert first["rows_by_table"]["users"] == 40

        add_events(seeded, DAY0 + timedelta(days=3), 2, tag="new")
        second = run(instance, database_url, ExtractsResource())
        assert second["log_event_days_written"] == "2026-03-04"
        assert second["log_event_days_kept"] == 3
    assert_matches_postgres(seeded, open_table(str(tmp_path / "out"), "acme", "log_events").to_table(),
                            "log_events")


def test_asset_publishes_to_s3(seeded: sa.Engine, database_url: str, s3: S3Env) -> None:
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["acme"])
        metadata = run(instance, database_url, ExtractsResource(url=f"s3://{s3.bucket}/x"))
    assert metadata["manifest"] == f"s3://{s3.bucket}/x/tenant=acme/_manifest.json"
    listed = s3.client.list_objects_v2(Bucket=s3.bucket)["Contents"]
    assert len(listed) == metadata["files_written"] + 1
