"""Asset jobs: the System Log per tenant and day, everything else per tenant."""

from __future__ import annotations

import dagster as dg

LOG_EVENTS = dg.AssetSelection.assets("okta_log_events")

okta_log_events_job = dg.define_asset_job(
    "okta_log_events_job",
    selection=LOG_EVENTS,
    description="Bring one tenant's System Log up to date (or re-read a range of days).",
)

tenant_refresh_job = dg.define_asset_job(
    "tenant_refresh_job",
    selection=dg.AssetSelection.all() - LOG_EVENTS,
    description="One tenant's state objects, the models built on them, and its Parquet extract.",
)
