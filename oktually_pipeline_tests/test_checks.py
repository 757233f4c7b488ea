"""Every asset check passes on good data and fails on deliberately broken data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import dagster as dg
import pytest
import sqlalchemy as sa

from oktually_pipeline.checks import (
    CHECKS,
    KEY_UNIQUE,
    KEYED_TABLES,
    MARK_COVERS_EVENTS,
    ONE_ADMINS_AND_USERS_GROUP,
    REFERENCES_EXIST,
)
from oktually_pipeline.partitions import (
    tenant_day_key,
    tenant_day_partitions,
    tenant_partitions,
)
from oktually_pipeline.resources import WarehouseResource
from oktually_pipeline.warehouse.schema import use_tenant_schema
from oktually_pipeline_tests.models.conftest import TENANT, build_models, tiny_org
from oktually_pipeline_tests.models.fixtures import (  # noqa: F401
    _scratch_database,
    database_url_of,
    scratch_engine,
)
from oktually_pipeline_tests.models.org_rows import ago


def _check(asset: str, name: str) -> dg.AssetChecksDefinition:
    key = dg.AssetCheckKey(dg.AssetKey(asset), name)
    return next(c for c in CHECKS if key in c.check_keys)


@pytest.fixture(scope="module")
def instance() -> Iterator[dg.DagsterInstance]:
    # In-memory: a tenth of the time of instance_for_test per run, which these tests make many of.
    with dg.DagsterInstance.ephemeral() as inst:
        inst.add_dynamic_partitions("tenant", [TENANT])
        yield inst


def run_checks(instance: dg.DagsterInstance, database_url: str, checks: list[tuple[str, str]],
               partition: str | None = TENANT,
               partitions_def: dg.PartitionsDefinition | None = tenant_partitions) -> list[dg.AssetCheckEvaluation]:
    """Run checks against no-op stand-ins for their assets (the data is already in the test DB)."""

    def stand_in(asset: str) -> dg.AssetsDefinition:
        @dg.asset(name=asset, partitions_def=partitions_def)
        def _stand_in() -> None:
            return None
        return _stand_in

    assets = [stand_in(a) for a in dict.fromkeys(a for a, _ in checks)]
    result = dg.materialize([*assets, *(_check(a, n) for a, n in checks)], partition_key=partition,
                            instance=instance, raise_on_error=False,
                            resources={"warehouse": WarehouseResource(database_url=database_url)})
    by_key = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    return [by_key[c] for c in checks]


def run_check(instance: dg.DagsterInstance, database_url: str, asset: str, name: str,
              partition: str | None = TENANT,
              partitions_def: dg.PartitionsDefinition | None = tenant_partitions) -> dg.AssetCheckEvaluation:
    return run_checks(instance, database_url, [(asset, name)], partition, partitions_def)[0]


@pytest.fixture
def org(scratch_engine: sa.Engine) -> sa.Engine:
    """The hand-written org with its models; its stale rows of deleted users are taken out."""
    tiny_org().insert(scratch_engine, TENANT)
    sql(scratch_engine, "DELETE FROM group_members gm USING users u WHERE u.id = gm.user_id AND u.deleted_at IS NOT NULL")
    build_models(scratch_engine)
    return scratch_engine


@pytest.fixture
def database_url(scratch_engine: sa.Engine) -> str:
    """The scratch database's URL (in place of the shared conftest's database per test)."""
    return database_url_of(scratch_engine)


def sql(engine: sa.Engine, statement: str, tenant: str = TENANT, **params) -> None:
    with engine.begin() as conn:
        use_tenant_schema(conn, tenant)
        conn.execute(sa.text(statement), params)


def test_every_check_is_listed_once() -> None:
    keys = [k for c in CHECKS for k in c.check_keys]
    assert len(keys) == len(set(keys)) == len(KEYED_TABLES) + 3 + 3


def test_every_key_check_passes_on_the_org(org, database_url, instance) -> None:
    evaluations = run_checks(instance, database_url, [(asset, KEY_UNIQUE) for asset, _, _ in KEYED_TABLES])
    assert len(evaluations) == len(KEYED_TABLES)
    for e in evaluations:
        assert e.passed, (e.asset_key, e.metadata)


def test_key_check_fails_on_duplicate_state_rows(org, database_url, instance) -> None:
    # The DDL's primary key makes this impossible; the check guards a table recreated without it.
    sql(org, "ALTER TABLE groups DROP CONSTRAINT groups_pkey")
    sql(org, "INSERT INTO groups (id, name, raw) VALUES ('g_super', 'SUPERUSERS again', '{}')")
    evaluation = run_check(instance, database_url, "okta_groups", KEY_UNIQUE)
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["duplicate_keys"].value == 1
    assert evaluation.metadata["examples"].value == ["(g_super)"]


def test_key_check_fails_on_duplicate_model_rows_and_blocks(org, database_url, instance) -> None:
    sql(org, "INSERT INTO tenant_users SELECT * FROM tenant_users WHERE user_id = 'u1'")
    evaluation = run_check(instance, database_url, "tenant_users", KEY_UNIQUE)
    assert not evaluation.passed and evaluation.blocking
    assert evaluation.metadata["rows_involved"].value == 2


def test_log_events_key_check(org, database_url, instance) -> None:
    day = str(tenant_day_key(TENANT, ago(1).date()))
    assert run_check(instance, database_url, "okta_log_events", KEY_UNIQUE, day, tenant_day_partitions).passed
    sql(org, "ALTER TABLE log_events DROP CONSTRAINT log_events_pkey")
    for _ in range(2):
        sql(org, "INSERT INTO log_events (uuid, published, event_type, raw) VALUES ('dup', now(), 'x', '{}')")
    evaluation = run_check(instance, database_url, "okta_log_events", KEY_UNIQUE, day, tenant_day_partitions)
    assert not evaluation.passed and evaluation.metadata["examples"].value == ["(dup)"]


def test_key_check_fails_when_the_table_is_missing(org, database_url, instance) -> None:
    sql(org, "DROP TABLE dormant_users")
    evaluation = run_check(instance, database_url, "dormant_users", KEY_UNIQUE)
    assert not evaluation.passed
    assert evaluation.metadata["missing_table"].value == "dormant_users"


@pytest.mark.parametrize(("table", "breakage"), [
    ("group_members", "INSERT INTO group_members (group_id, user_id, raw) VALUES ('g_super', 'u_never', '{}')"),
    ("group_members", "UPDATE groups SET deleted_at = now() WHERE id = 'g_super'"),
    ("app_users", "INSERT INTO app_users (app_id, user_id, raw) VALUES ('app_never', 'u1', '{}')"),
    ("app_users", "UPDATE users SET deleted_at = now() WHERE id = 'u2'"),
    ("app_groups", "UPDATE groups SET deleted_at = now() WHERE id = 'g_appusers_lemur_app1'"),
    ("app_groups", "UPDATE apps SET deleted_at = now() WHERE id = 'app2'"),
])
def test_references_check_fails_on_dangling_rows(org, database_url, instance, table, breakage) -> None:
    assert run_check(instance, database_url, f"okta_{table}", REFERENCES_EXIST).passed
    sql(org, breakage)
    evaluation = run_check(instance, database_url, f"okta_{table}", REFERENCES_EXIST)
    assert not evaluation.passed
    assert evaluation.metadata["problems"].value >= 1


def test_tenant_groups_check_warns_on_drift(org, database_url, instance) -> None:
    evaluation = run_check(instance, database_url, "tenants", ONE_ADMINS_AND_USERS_GROUP)
    # gibbon has neither group.
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert [t["tenant_name"] for t in evaluation.metadata["drifted_tenants"].value] == ["gibbon"]
    sql(org, "UPDATE idps SET deleted_at = now() WHERE name = 'gibbon'")
    assert run_check(instance, database_url, "tenants", ONE_ADMINS_AND_USERS_GROUP).passed
    sql(org, "INSERT INTO groups (id, name, raw) VALUES ('g_users_spider_2', 'USERS_spider', '{}')")
    evaluation = run_check(instance, database_url, "tenants", ONE_ADMINS_AND_USERS_GROUP)
    assert not evaluation.passed
    assert evaluation.metadata["drifted_tenants"].value == [
        {"tenant_id": "0oaSpider", "tenant_name": "spider", "admins_groups": 1, "users_groups": 2}]


def _log_check(instance: dg.DagsterInstance, database_url: str, day: date | None = None) -> dg.AssetCheckEvaluation:
    if day is None:  # a run without partitions looks at every tenant schema
        return run_check(instance, database_url, "okta_log_events", MARK_COVERS_EVENTS, None, None)
    return run_check(instance, database_url, "okta_log_events", MARK_COVERS_EVENTS,
                     str(tenant_day_key(TENANT, day)), tenant_day_partitions)


def test_log_mark_check_fails_when_events_are_newer_than_the_mark(org, database_url, instance) -> None:
    assert _log_check(instance, database_url, ago(1).date()).passed  # no events, no mark
    sql(org, "INSERT INTO log_events (uuid, published, event_type, raw) VALUES ('e1', :p, 'x', '{}')", p=ago(1))
    assert not _log_check(instance, database_url, ago(1).date()).passed  # an event stored without its mark
    sql(org, "INSERT INTO ingest_marks (stream, mark) VALUES ('log_events', :m)", m=ago(1))
    assert _log_check(instance, database_url, ago(1).date()).passed
    assert _log_check(instance, database_url).passed
    sql(org, "INSERT INTO log_events (uuid, published, event_type, raw) VALUES ('late', :p, 'x', '{}')",
        p=ago(0.5))
    evaluation = _log_check(instance, database_url)
    assert not evaluation.passed
    assert evaluation.metadata["events_after_mark"].value == 1
    assert evaluation.metadata["tenants"].value == TENANT


def test_checks_evaluate_their_partitions_tenant_or_every_schema(org, database_url, instance) -> None:
    tiny_org().insert(org, "other")
    sql(org, "UPDATE idps SET deleted_at = now() WHERE name = 'gibbon'", tenant="other")
    instance.add_dynamic_partitions("tenant", ["other"])
    assert not run_check(instance, database_url, "tenants", ONE_ADMINS_AND_USERS_GROUP).passed
    evaluation = run_check(instance, database_url, "tenants", ONE_ADMINS_AND_USERS_GROUP, partition="other")
    assert evaluation.passed and evaluation.metadata["tenants"].value == "other"
    # Without partitions the System Log checks look at every tenant schema.
    sql(org, "INSERT INTO log_events (uuid, published, event_type, raw) VALUES ('e1', now(), 'x', '{}')",
        tenant="other")
    evaluation = _log_check(instance, database_url)
    assert not evaluation.passed
    assert evaluation.metadata["tenants"].value == "other, tiny"
    per_tenant = evaluation.metadata["per_tenant"].value
    assert (per_tenant["other"]["problems"], per_tenant["tiny"]["problems"]) == (1, 0)
