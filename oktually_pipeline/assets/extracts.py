"""The Parquet extract asset: each tenant's warehouse tables published with a manifest."""

# No `from __future__ import annotations` here: Dagster reads the resource annotations.

import dagster as dg
from dagster_aws.s3 import S3Resource

from oktually_pipeline.extracts.publish import publish_tenant
from oktually_pipeline.extracts.resource import ExtractsResource
from oktually_pipeline.models.specs import MODELS
from oktually_pipeline.okta.endpoints import ENDPOINTS
from oktually_pipeline.partitions import TENANT_DIMENSION, tenant_partitions
from oktually_pipeline.resources import WarehouseResource

# Every state asset, and the models after them, so the extract publishes them built.
STATE_ASSET_KEYS = tuple(ep.asset_key for ep in ENDPOINTS)


@dg.asset(
    key="parquet_extract",
    partitions_def=tenant_partitions,
    deps=[
        dg.AssetDep(
            "okta_log_events",
            partition_mapping=dg.MultiToSingleDimensionPartitionMapping(
                partition_dimension_name=TENANT_DIMENSION
            ),
        ),
        *STATE_ASSET_KEYS,
        *(model.name for model in MODELS),
    ],
    group_name="extracts",
    kinds={"parquet"},
)
def parquet_extract(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    extracts: ExtractsResource,
    s3: S3Resource,
) -> dg.MaterializeResult:
    """The tenant's tables as Parquet under `OKTUALLY_EXTRACTS_URL` (S3 or a local folder).

    Layout `tenant=<id>/<table>/part-….parquet`, the System Log split by UTC day
    (`tenant=<id>/log_events/date=YYYY-MM-DD/`), and `tenant=<id>/_manifest.json`, written last,
    naming every live file with its rows, the Arrow schema, the snapshot time and the System Log
    mark it covers. All tables come from one consistent Postgres snapshot; only System Log days
    that changed are rewritten. Read through the manifest to never see a half-written extract.
    """
    tenant_id = context.partition_key
    store = extracts.store(s3.get_client)
    result = publish_tenant(warehouse.get_engine(), tenant_id, store)
    events = result.tables.get("log_events")
    context.log.info(
        f"{tenant_id}: {len(result.files_written)} files, {result.rows_written} rows, "
        f"{result.bytes_written} bytes written; {len(result.files_deleted)} old files removed"
    )
    return dg.MaterializeResult(metadata={
        "tenant": tenant_id,
        "manifest": result.location,
        "snapshot_time": result.snapshot_time,
        "log_events_mark": result.log_events_mark or "",
        "files_written": len(result.files_written),
        "rows_written": result.rows_written,
        "bytes_written": result.bytes_written,
        "files_deleted": len(result.files_deleted),
        "tables": len(result.tables),
        "log_event_days_written": ", ".join(events.days_written) if events else "",
        "log_event_days_kept": len(events.days_kept) if events else 0,
        "rows_by_table": {name: t.rows for name, t in sorted(result.tables.items())},
        "dagster/row_count": sum(t.rows for t in result.tables.values()),
    })
