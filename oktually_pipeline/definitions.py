"""Everything Dagster loads, gathered in one Definitions."""

from __future__ import annotations

import dagster as dg
from dagster_aws.s3 import S3Resource

from oktually_pipeline.assets import events, extracts, models, state
from oktually_pipeline.automation import with_derived_automation
from oktually_pipeline.checks import CHECKS
from oktually_pipeline.executors import executor_from_env
from oktually_pipeline.extracts.resource import ExtractsResource
from oktually_pipeline.jobs import okta_log_events_job, tenant_refresh_job
from oktually_pipeline.resources import OktaResource, WarehouseResource
from oktually_pipeline.schedules import schedules
from oktually_pipeline.sensors import sensors

defs = with_derived_automation(dg.Definitions(
    assets=dg.load_assets_from_modules([events, state, models, extracts]),
    asset_checks=CHECKS,
    jobs=[okta_log_events_job, tenant_refresh_job],
    schedules=schedules,
    sensors=sensors,
    executor=executor_from_env(),
    resources={
        "okta": OktaResource(),
        "warehouse": WarehouseResource(),
        "extracts": ExtractsResource(),
        "s3": S3Resource(),
    },
))
