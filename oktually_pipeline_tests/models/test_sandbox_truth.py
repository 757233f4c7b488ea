"""Every model against a sandbox org's known truth: the org and its System Log are loaded by the
real state loader and log ingestion, the models and their checks run through Dagster, and each
model is compared with what `truth.Truth` computes in Python from the sandbox itself."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from oktually_pipeline.models.specs import MODELS
from oktually_pipeline.sandbox import Sandbox, SandboxConfig
from oktually_pipeline_tests.models.conftest import query_on
from oktually_pipeline_tests.models.sandbox_load import load_and_build
from oktually_pipeline_tests.models.truth import (
    COMPARED,
    Truth,
    expected_rows,
    model_rows,
)

ORG = "sbx"
DAYS = 3


@dataclass
class Loaded:
    sb: Sandbox
    as_of: datetime
    query: Any
    run: dg.ExecuteInProcessResult

    @cached_property
    def truth(self) -> Truth:
        return Truth(self.sb, self.as_of)


@pytest.fixture(scope="module")
def loaded(module_engine: sa.Engine) -> Iterator[Loaded]:
    as_of = datetime.now(timezone.utc).replace(microsecond=0)
    # 600 events over 200 users leave some active users without a sign-in (dormant ones exist).
    with Sandbox(SandboxConfig(seed=11, tenants=5, users=200, events=600, days=DAYS, now=as_of)) as sb:
        run = load_and_build(sb, module_engine, ORG, as_of, DAYS)
        yield Loaded(sb, as_of, query_on(module_engine, ORG), run)


def test_every_model_is_compared() -> None:
    assert set(COMPARED) == {m.name for m in MODELS}


@pytest.mark.parametrize("model", sorted(COMPARED))
def test_model_matches_the_sandbox_truth(loaded: Loaded, model: str) -> None:
    expected = expected_rows(loaded.truth, model)
    assert expected, f"the sandbox gives {model} nothing to find"
    got = model_rows(loaded.query, model)
    assert not expected - got, f"{model} misses rows"
    assert not got - expected, f"{model} has rows the truth does not"


def test_convention_issues_are_one_per_seeded_break_of_every_kind(loaded: Loaded) -> None:
    assert {k for k, _ in loaded.truth.breaks} == {
        "idp_without_groups", "admins_group_bad_tenant_id", "appusers_unknown_app", "appusers_not_assigned",
        "admins_group_missing_role", "admins_role_target_outside_tenant", "user_in_multiple_tenants",
        "admin_not_tenant_user"}
    assert len(loaded.query("SELECT * FROM convention_issues")) == len(loaded.truth.breaks) == 8


def test_access_paths_explain_exactly_what_okta_lists_per_app(loaded: Loaded) -> None:
    rows = loaded.query("SELECT DISTINCT user_id, app_id FROM user_app_access")
    assert {tuple(r) for r in rows} == loaded.truth.okta_app_assignments()


def test_admin_roles_come_both_ways(loaded: Loaded) -> None:
    rows = loaded.query("SELECT via, role_type, target_group_names, target_app_labels, target_catalog_apps "
                        "FROM admin_role_holders WHERE via = 'direct'")
    assert sorted((r.role_type, tuple(r.target_group_names), tuple(r.target_app_labels), tuple(r.target_catalog_apps))
                  for r in rows) == [
        ("APP_ADMIN", (), ("Analytics",), ("salesforce",)), ("CUSTOM", (), (), ()),
        ("HELP_DESK_ADMIN", (f"USERS_{loaded.truth.snap['tenants'][0].name}",), (), ()), ("SUPER_ADMIN", (), (), ())]
    assert loaded.query("SELECT count(*) AS n FROM admin_role_holders WHERE via = 'group'")[0].n > 0


def test_activity_models_are_not_trivially_empty(loaded: Loaded) -> None:
    daily = loaded.query("SELECT sum(sign_ins) AS ok, sum(failed_sign_ins) AS failed, sum(mfa_verifications) AS mfa "
                         "FROM signin_daily")[0]
    assert daily.ok > 0 and daily.failed > 0 and daily.mfa > 0
    assert all(r.privileges for r in loaded.query("SELECT privileges FROM recent_admin_changes"))


def test_model_checks_pass_and_tenant_drift_warns(loaded: Loaded) -> None:
    results = {(e.asset_key.to_user_string(), e.check_name): e for e in loaded.run.get_asset_check_evaluations()}
    assert len(results) == len(MODELS) + 1
    failed = {k for k, e in results.items() if not e.passed}
    # The seeded orphan IdP has neither group: the drift check warns, as it should.
    assert failed == {("tenants", "one_admins_and_users_group")}
    assert results["tenants", "one_admins_and_users_group"].severity == dg.AssetCheckSeverity.WARN


def test_materializations_report_rows_sql_and_thresholds(loaded: Loaded) -> None:
    for model in MODELS:
        [materialization] = loaded.run.asset_materializations_for_node(model.name)
        meta = materialization.metadata
        assert meta["dagster/row_count"].value == len(loaded.query(f"SELECT 1 FROM {model.name}"))
        assert meta["model_sql"].value == f"sql/models/{model.name}.sql"
        assert meta["table"].value == f"okta_{ORG}.{model.name}"
        assert materialization.partition == ORG
    dormant = loaded.run.asset_materializations_for_node("dormant_users")[0].metadata
    assert dormant["dormant_days"].value == 90
    assert "dormant_days" not in loaded.run.asset_materializations_for_node("tenants")[0].metadata
