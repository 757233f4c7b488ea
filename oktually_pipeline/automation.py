"""Declarative automation: derived models and extracts follow their parents, and the run tags.

Every run the schedules and sensors request carries `oktually/tenant`, the tag dagster.yaml limits
to one run per tenant at a time; `oktually/trigger` says what asked for it.
"""

from __future__ import annotations

import warnings

import dagster as dg

from oktually_pipeline.runs import TENANT_TAG

TRIGGER_TAG = "oktually/trigger"
LOG_EVENTS_KEY = dg.AssetKey("okta_log_events")
# The asset groups the models and extract helpers put their tenant-partitioned assets in.
DERIVED_GROUPS = ("models", "extracts")
DERIVED_ASSETS = dg.AssetSelection.groups(*DERIVED_GROUPS)

# `eager()` also waits until no parent partition is missing. A model or extract of tenant `acme`
# depends on every `date|acme` partition of the System Log since EVENTS_START_DATE, and Okta keeps
# only ~90 days, so some of those days are always missing: plain `eager()` would never fire. The
# System Log's missing days are therefore ignored; a missing state table still holds models back.
FOLLOW_PARENTS = (
    dg.AutomationCondition.eager()
    .replace(
        "any_deps_missing",
        dg.AutomationCondition.any_deps_missing().ignore(dg.AssetSelection.assets(LOG_EVENTS_KEY)),
    )
    .with_label("eager (System Log history may be partial)")
)


def tenant_run_tags(tenant_id: str, trigger: str, **extra: str) -> dict[str, str]:
    """The tags of a run for one tenant: the concurrency tag, what triggered it, and `extra`."""
    return {TENANT_TAG: tenant_id, TRIGGER_TAG: trigger, **{f"oktually/{k}": v for k, v in extra.items()}}


def follow_parents(spec: dg.AssetSpec) -> dg.AssetSpec:
    """`spec` with FOLLOW_PARENTS as its automation condition (for map_resolved_asset_specs)."""
    return spec.replace_attributes(automation_condition=FOLLOW_PARENTS)


def with_derived_automation(defs: dg.Definitions) -> dg.Definitions:
    """`defs` with every asset of the models and extracts groups following its parents."""
    with warnings.catch_warnings():
        # map_resolved_asset_specs is a "preview" API in 1.13; its behaviour here is tested.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_resolved_asset_specs(func=follow_parents, selection=DERIVED_ASSETS)


derived_automation_sensor = dg.AutomationConditionSensorDefinition(
    "derived_automation_sensor",
    target=DERIVED_ASSETS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    run_tags={TRIGGER_TAG: "automation"},
    description="Refreshes a tenant's models and Parquet extract after its System Log or state changes.",
)
