"""Asset checks on the raw tables and the models, one tenant schema at a time.

* `key_unique` on every state table, the System Log and every model: no two rows share the key.
  The models are built without constraints, so this guards their grain; on models it is
  blocking, so a broken model does not feed the next.
* `references_exist` on the membership tables: no group membership or app assignment pointing at
  a user, group or app that is missing or deleted.
* `mark_covers_events` on the System Log: the stored mark is never behind the newest stored event.
* `one_admins_and_users_group` on `tenants` (WARN: real orgs drift): every IdP has exactly one
  ADMINS_<tenant> and one USERS_<tenant> group.

Checks on tenant-partitioned assets are tenant-partitioned (Dagster 1.13 supports a check with
its asset's partitions_def). The System Log is partitioned by day and tenant while its mark is
per tenant, so its checks are unpartitioned and evaluates the tenants of the run's partitions (all
tenant schemas when the run has none).
"""

# No `from __future__ import annotations` here: Dagster reads the resource annotations.

from collections.abc import Callable, Sequence

import dagster as dg
import sqlalchemy as sa

from oktually_pipeline.models.quality import (
    Finding,
    dangling_references,
    duplicate_keys,
    log_mark_behind,
    tenant_group_drift,
    tenant_schemas_with,
)
from oktually_pipeline.models.specs import MODELS
from oktually_pipeline.okta.endpoints import ENDPOINTS
from oktually_pipeline.partitions import (
    TENANT_DIMENSION,
    tenant_day_partitions,
    tenant_partitions,
)
from oktually_pipeline.resources import WarehouseResource

KEY_UNIQUE = "key_unique"
REFERENCES_EXIST = "references_exist"
MARK_COVERS_EVENTS = "mark_covers_events"
ONE_ADMINS_AND_USERS_GROUP = "one_admins_and_users_group"

# (asset key, table, key columns): every state table and every model.
KEYED_TABLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    *((ep.asset_key, ep.table, ep.key) for ep in ENDPOINTS),
    *((m.name, m.name, m.key) for m in MODELS),
)
LOG_EVENTS_KEY = "okta_log_events"
MODEL_NAMES = frozenset(m.name for m in MODELS)
# Membership tables and the (column, table) each row must point at.
MEMBERSHIP_REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "group_members": (("group_id", "groups"), ("user_id", "users")),
    "app_users": (("app_id", "apps"), ("user_id", "users")),
    "app_groups": (("app_id", "apps"), ("group_id", "groups")),
}

Evaluate = Callable[[sa.Engine, str], Finding]


def _result(findings: Sequence[Finding], severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    problems = sum(f.problems for f in findings)
    metadata: dict[str, object] = {"tenants": ", ".join(f.tenant_id for f in findings), "problems": problems}
    if len(findings) == 1:
        metadata.update({k: v for k, v in findings[0].details.items() if v is not None})
        metadata = {k: dg.MetadataValue.json(v) if isinstance(v, (list, dict)) else v for k, v in metadata.items()}
    else:
        metadata["per_tenant"] = dg.MetadataValue.json(
            {f.tenant_id: {"problems": f.problems, **f.details} for f in findings})
    return dg.AssetCheckResult(passed=problems == 0, severity=severity, metadata=metadata)


def tenant_check(
    asset: str, name: str, description: str, evaluate: Evaluate, *,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR, blocking: bool = False,
) -> dg.AssetChecksDefinition:
    """A check on a tenant-partitioned asset, evaluated in the tenant schema(s) of the run."""

    @dg.asset_check(asset=asset, name=name, description=description, blocking=blocking,
                    partitions_def=tenant_partitions)
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        engine = warehouse.get_engine()
        return _result([evaluate(engine, t) for t in context.partition_keys], severity)

    return _check


def _key_check(asset: str, table: str, key: tuple[str, ...]) -> dg.AssetChecksDefinition:
    return tenant_check(
        asset, KEY_UNIQUE,
        f"No two rows of `okta_<tenant>.{table}` share ({', '.join(key)}); NULLs compare equal.",
        lambda engine, tenant: duplicate_keys(engine, tenant, table, key),
        blocking=asset in MODEL_NAMES,
    )


def _references_check(table: str, refs: tuple[tuple[str, str], ...]) -> dg.AssetChecksDefinition:
    def evaluate(engine: sa.Engine, tenant: str) -> Finding:
        found = [dangling_references(engine, tenant, table, col, ref) for col, ref in refs]
        return Finding(tenant, sum(f.problems for f in found),
                       {f"{col}_dangling": f.details for (col, _), f in zip(refs, found)})

    pointing = ", ".join(f"`{col}` at a live `{ref}` row" for col, ref in refs)
    return tenant_check(f"okta_{table}", REFERENCES_EXIST,
                        f"Every live `{table}` row points {pointing} (not missing, not deleted).", evaluate)


def _run_tenants(context: dg.AssetCheckExecutionContext, engine: sa.Engine) -> list[str]:
    if context.has_partition_key or context.has_partition_key_range:
        keys = (tenant_day_partitions.get_partition_key_from_str(k) for k in context.partition_keys)
        return sorted({k.keys_by_dimension[TENANT_DIMENSION] for k in keys})
    return tenant_schemas_with(engine, "log_events")


def log_events_check(name: str, description: str, evaluate: Evaluate) -> dg.AssetChecksDefinition:
    """A check on the System Log, evaluated for the tenants of the run's (day, tenant) partitions."""

    @dg.asset_check(asset=LOG_EVENTS_KEY, name=name, description=description)
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        engine = warehouse.get_engine()
        return _result([evaluate(engine, t) for t in _run_tenants(context, engine)], dg.AssetCheckSeverity.ERROR)

    return _check


log_mark_check = log_events_check(
    MARK_COVERS_EVENTS,
    "The System Log mark (`ingest_marks.mark`, stream `log_events`) is not behind the newest stored "
    "event: a mark moves in the transaction of its rows.",
    log_mark_behind,
)
log_key_check = log_events_check(
    KEY_UNIQUE, "No two rows of `okta_<tenant>.log_events` share a `uuid`.",
    lambda engine, tenant: duplicate_keys(engine, tenant, "log_events", ("uuid",)),
)

tenant_groups_check = tenant_check(
    "tenants", ONE_ADMINS_AND_USERS_GROUP,
    "Every customer tenant (IdP) has exactly one ADMINS_<tenant> and one USERS_<tenant> group. "
    "A warning, not an error: real orgs drift (see convention_issues).",
    tenant_group_drift, severity=dg.AssetCheckSeverity.WARN,
)

CHECKS: list[dg.AssetChecksDefinition] = [
    *(_key_check(asset, table, key) for asset, table, key in KEYED_TABLES),
    *(_references_check(table, refs) for table, refs in MEMBERSHIP_REFERENCES.items()),
    log_mark_check,
    log_key_check,
    tenant_groups_check,
]
