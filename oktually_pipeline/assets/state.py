"""Okta state assets: one per table declared in `okta/endpoints.py`, partitioned by tenant."""

# No `from __future__ import annotations` here: Dagster reads the Config and resource annotations.

from datetime import timedelta

import dagster as dg

from oktually_pipeline.ingest.state import LoadOptions, load_state
from oktually_pipeline.okta.endpoints import (
    BY_TABLE,
    ENDPOINTS,
    Endpoint,
    upstream_tables,
)
from oktually_pipeline.partitions import tenant_partitions
from oktually_pipeline.resources import OktaResource, WarehouseResource
from oktually_pipeline.warehouse.schema import ensure_tenant_schema, tenant_schema

GROUP_NAME = "okta_state"


class StateConfig(dg.Config):
    """How a run loads a state table.

    `full_refresh` re-reads everything from Okta and marks what is gone (a reconciliation); one
    also happens by itself when the last is older than `reconcile_every_hours`.
    """

    full_refresh: bool = False
    reconcile_every_hours: float = 24.0
    overlap_seconds: int = 60
    workers: int = 4


def _how_it_stays_current(ep: Endpoint) -> str:
    if ep.child_of:
        co = ep.child_of
        why = [f"new {co.parent}"]
        if co.version:
            why.append(f"{co.parent} whose version ({', '.join((co.parent, *co.reads))}) moved")
        if co.refresh_events:
            why.append(f"{co.parent} named by System Log `{'`/`'.join(co.refresh_events.event_types)}` events")
        vanish = "deleted" if co.on_vanish == "delete" else "marked `deleted_at`"
        return (f"One call per parent, so only these are re-read: {', '.join(why)}, and every parent on "
                f"the daily reconciliation. Rows that vanish from a re-read parent are {vanish}.")
    if ep.incremental:
        return (f"Incremental: `{ep.incremental_param}={ep.incremental_condition}` from the stored mark "
                "minus an overlap; deletions from System Log delete events and the daily full "
                "reconciliation (`deleted_at`).")
    return "Read whole each run (Okta has no lastUpdated filter here); vanished rows get `deleted_at`."


def _description(ep: Endpoint) -> str:
    key = ", ".join(ep.key)
    return (f"{ep.description}\n\nPostgres table `okta_<tenant>.{ep.table}`, key ({key}), typed columns "
            f"plus `raw` jsonb, `deleted_at`, `synced_at`. {_how_it_stays_current(ep)}")


def _deps(ep: Endpoint) -> list[str]:
    return [BY_TABLE[t].asset_key for t in upstream_tables(ep)]


def build_state_asset(ep: Endpoint) -> dg.AssetsDefinition:
    """The asset that keeps `ep`'s table current for one tenant partition."""

    @dg.asset(
        name=ep.asset_key,
        description=_description(ep),
        partitions_def=tenant_partitions,
        deps=_deps(ep),
        group_name=GROUP_NAME,
        pool="okta_api",
        kinds={"postgres"},
        tags={"oktually/source": "okta"},
    )
    def _state_asset(
        context: dg.AssetExecutionContext,
        config: StateConfig,
        okta: OktaResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        tenant_id = context.partition_key
        engine = warehouse.get_engine()
        ensure_tenant_schema(engine, tenant_id)
        options = LoadOptions(
            full_refresh=config.full_refresh,
            reconcile_every=timedelta(hours=config.reconcile_every_hours),
            overlap=timedelta(seconds=config.overlap_seconds),
            workers=config.workers,
        )
        with okta.client(tenant_id) as client:
            result = load_state(client, engine, tenant_id, ep, options)
        context.log.info(f"{tenant_id}.{ep.table}: {result.metadata()}")
        return dg.MaterializeResult(metadata={
            "tenant": tenant_id,
            "table": f"{tenant_schema(tenant_id)}.{ep.table}",
            "okta_endpoint": ep.path,
            **result.metadata(),
        })

    return _state_asset


STATE_ASSETS: list[dg.AssetsDefinition] = [build_state_asset(ep) for ep in ENDPOINTS]
