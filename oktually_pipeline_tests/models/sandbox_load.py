"""Load a sandbox org into a test database the way the pipeline does, then build every model."""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from oktually_pipeline.assets.models import MODEL_ASSETS
from oktually_pipeline.checks import CHECKS
from oktually_pipeline.ingest.log_events import pull_polling
from oktually_pipeline.ingest.state import LoadOptions, load_state
from oktually_pipeline.models.specs import MODELS
from oktually_pipeline.okta.auth import Secret, SswsAuth
from oktually_pipeline.okta.client import OktaClient
from oktually_pipeline.okta.endpoints import ENDPOINTS
from oktually_pipeline.resources import WarehouseResource
from oktually_pipeline.sandbox import Sandbox
from oktually_pipeline.warehouse.schema import ensure_tenant_schema
from oktually_pipeline_tests.models.fixtures import database_url_of

MODEL_NAMES = {m.name for m in MODELS}
MODEL_CHECKS = [c for c in CHECKS if all(k.asset_key.to_user_string() in MODEL_NAMES for k in c.check_keys)]


def load_org(sb: Sandbox, engine: sa.Engine, tenant: str, since: datetime) -> None:
    """The System Log first (the state loader reads its delete events), then every state table."""
    ensure_tenant_schema(engine, tenant)
    with OktaClient(sb.url, SswsAuth(Secret(sb.token)), tenant_id=tenant, max_backoff=0.05) as client:
        pull_polling(client, engine, tenant, start=since)
        # The sandbox's change events are seconds old: no settling time, or deletions wait a run.
        options = LoadOptions(events_settle=timedelta(0))
        for ep in ENDPOINTS:
            load_state(client, engine, tenant, ep, options)


def build_models(engine: sa.Engine, tenant: str, as_of: datetime) -> dg.ExecuteInProcessResult:
    """Every model asset and its checks for the tenant's partition, through Dagster."""
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("tenant", [tenant])
        result = dg.materialize(
            [*MODEL_ASSETS, *MODEL_CHECKS], partition_key=tenant, instance=instance,
            resources={"warehouse": WarehouseResource(database_url=database_url_of(engine))},
            run_config={"ops": {m: {"config": {"as_of": as_of.isoformat(), "dormant_days": 90}}
                                for m in MODEL_NAMES}},
        )
    assert result.success
    return result


def load_and_build(sb: Sandbox, engine: sa.Engine, tenant: str, as_of: datetime, days: int) -> dg.ExecuteInProcessResult:
    load_org(sb, engine, tenant, as_of - timedelta(days=days + 1))
    return build_models(engine, tenant, as_of)
