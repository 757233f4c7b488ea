"""The model assets' definitions: partitions, group, descriptions, dependencies.

Running them through Dagster (config, metadata, checks) is in test_sandbox_truth."""

from __future__ import annotations

import dagster as dg

from oktually_pipeline.assets.models import MODEL_ASSETS
from oktually_pipeline.models.specs import MODELS
from oktually_pipeline.partitions import tenant_partitions


def _asset(name: str) -> dg.AssetsDefinition:
    return next(a for a in MODEL_ASSETS if a.key == dg.AssetKey(name))


def test_assets_declare_partitions_group_and_what_they_read() -> None:
    assert {a.key.to_user_string() for a in MODEL_ASSETS} == {m.name for m in MODELS}
    for a in MODEL_ASSETS:
        assert a.partitions_def == tenant_partitions
        assert a.group_names_by_key[a.key] == "models"
        description = a.descriptions_by_key[a.key]
        assert "sql/models/" in description
        assert all(dep.to_user_string() in description for dep in a.dependency_keys)
    tenants = _asset("tenants")
    assert {k.to_user_string() for k in tenants.dependency_keys} == {
        "okta_idps", "okta_groups", "okta_group_members", "okta_users", "tenant_app_entitlements"}
    signin = _asset("signin_daily")
    assert {k.to_user_string() for k in signin.dependency_keys} == {"okta_log_events", "tenant_users"}
    mapping = signin.get_partition_mapping(dg.AssetKey("okta_log_events"))
    assert isinstance(mapping, dg.MultiToSingleDimensionPartitionMapping)
    assert mapping.partition_dimension_name == "tenant"
