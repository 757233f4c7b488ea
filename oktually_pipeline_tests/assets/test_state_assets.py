"""The state assets: definitions, and a materialisation of one tenant against the sandbox and Postgres."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from oktually_pipeline.assets.state import STATE_ASSETS
from oktually_pipeline.okta.endpoints import ENDPOINTS
from oktually_pipeline.resources import OktaResource, WarehouseResource
from oktually_pipeline.sandbox import Sandbox, SandboxConfig
from oktually_pipeline_tests.ingest.state_helpers import live_keys

TOKEN = "00sandbox-state-assets-token-0123456789"


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(seed=11, tenants=2, users=60, events=100, days=1, tokens=(TOKEN,))) as sb:
        yield sb


def _asset(key: str) -> dg.AssetsDefinition:
    return next(a for a in STATE_ASSETS if a.key == dg.AssetKey(key))


def _metadata_by_asset(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    out = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization  # type: ignore[union-attr]
        out[mat.asset_key.to_user_string()] = mat.metadata
    return out


def test_one_asset_per_table_with_keys_groups_and_lineage() -> None:
    assert [a.key.to_user_string() for a in STATE_ASSETS] == [e.asset_key for e in ENDPOINTS]
    for a in STATE_ASSETS:
        (key,) = a.keys
        assert a.group_names_by_key[key] == "okta_state"
        assert a.partitions_def is not None and a.partitions_def.name == "tenant"
        assert any(api in (a.descriptions_by_key[key] or "") for api in ("`GET /api/v1/", "`GET /oauth2/v1/clients/"))
        assert a.op.pool == "okta_api"
    deps = {k.to_user_string() for k in _asset("okta_group_members").dependency_keys}
    assert deps == {"okta_groups", "okta_users"}
    assert {k.to_user_string() for k in _asset("okta_group_role_targets").dependency_keys} == {
        "okta_group_roles", "okta_groups"}
    assert {k.to_user_string() for k in _asset("okta_user_roles").dependency_keys} == {
        "okta_role_assigned_users", "okta_users"}
    # An app's users depend on its groups' members: the version token reads them.
    assert {k.to_user_string() for k in _asset("okta_app_users").dependency_keys} == {
        "okta_apps", "okta_users", "okta_groups", "okta_group_members", "okta_app_groups"}
    assert not _asset("okta_users").dependency_keys


def test_materialising_a_tenant_loads_every_table(
    sandbox: Sandbox, database_url: str, engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTA_TOKEN_STATE_TEST", TOKEN)
    tenants = tmp_path / "tenants.yaml"
    tenants.write_text(
        f"tenants:\n  - id: acme\n    okta_url: {sandbox.url}\n    token_env: OKTA_TOKEN_STATE_TEST\n"
    )
    resources = {
        "okta": OktaResource(tenants_file=str(tenants)),
        "warehouse": WarehouseResource(database_url=database_url),
    }
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["acme"])
        result = dg.materialize(STATE_ASSETS, partition_key="acme", instance=instance, resources=resources)
        assert result.success
        mats = _metadata_by_asset(result)
        assert set(mats) == {e.asset_key for e in ENDPOINTS}
        users = mats["okta_users"]
        assert users["mode"].value == "full_refresh"
        assert users["table"].value == "okta_acme.users"
        for field in ("rows_fetched", "rows_upserted", "rows_deleted_marked", "api_calls", "high_water_mark"):
            assert field in users
        assert live_keys(engine, "users") == {(u,) for u in sandbox.org.snapshot()["users"]}

        again = dg.materialize(STATE_ASSETS, partition_key="acme", instance=instance, resources=resources,
                               run_config={"ops": {"okta_users": {"config": {"full_refresh": True}}}})
        assert again.success
        modes = {key: md["mode"].value for key, md in _metadata_by_asset(again).items()}
        assert modes["okta_users"] == "full_refresh"
        assert modes["okta_groups"] == "incremental"
        assert modes["okta_apps"] == "full_list"
