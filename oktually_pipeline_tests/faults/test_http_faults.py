"""Okta misbehaves: 429 storms, 20% 5xx, slow, truncated and dropped responses, malformed JSON,
invalid UTF-8, events missing fields, huge strings, late events. Pulls under faults may give up;
none may store a wrong row or move a mark past its data, and once the faults stop one more run
makes every table equal the truth. A page that can never parse fails the run with an error naming
the tenant, the endpoint and the cursor, and advances nothing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from oktually_pipeline.ingest.state import load_state
from oktually_pipeline.okta.errors import OktaError, OktaMalformedPageError
from oktually_pipeline.sandbox import Faults, Sandbox, SandboxConfig
from oktually_pipeline.warehouse.schema import tenant_schema
from oktually_pipeline_tests.databases import new_database
from oktually_pipeline_tests.faults.helpers import (
    FAST,
    assert_log_complete,
    assert_log_consistent,
    assert_state_complete,
    assert_state_consistent,
    client_for,
    endpoints,
    load_all_state,
    mutate_org,
    pull_log,
    warehouse,
)

pytestmark = pytest.mark.faults


def everything(seed: int) -> Faults:
    """Every fault the sandbox has, at once, at rates that make most pages need a retry."""
    return Faults(seed=seed, storm_429=4, error_rate=0.2, slow_rate=0.1, slow_seconds=0.05,
                  truncate_rate=0.06, malformed_rate=0.06, invalid_utf8_rate=0.06,
                  missing_fields_rate=0.15, huge_string_rate=0.1, drop_connection_rate=0.05,
                  late_rate=0.2)


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(seed=17, tenants=3, users=60, events=1500, days=2, window_seconds=1,
                               tokens=("00http-faults-token-abcdefghijklmn",))) as sb:
        yield sb


@pytest.fixture
def db(pg_admin_url: str) -> Iterator[str]:
    with new_database(pg_admin_url) as url:
        yield url


def test_system_log_under_every_fault_then_equals_the_truth(sandbox: Sandbox, db: str) -> None:
    rng = random.Random(3)
    tenant = "faultlog"
    with warehouse(db, tenant) as engine:
        gave_up = 0
        for round_ in range(2):
            sandbox.faults = everything(seed=round_)
            sandbox.events.append(rng.randint(100, 400))
            try:
                pull_log(sandbox, engine, tenant)
            except OktaError:
                gave_up += 1  # allowed: what counts is what was stored
            assert_log_consistent(sandbox, engine, tenant)
        assert sandbox.stats.requests_429 >= 8 and gave_up < 2
        assert sum(n for status, n in sandbox.stats.by_status.items() if status >= 500) > 0
        sandbox.faults = Faults()
        pull_log(sandbox, engine, tenant)
        assert_log_complete(sandbox, engine, tenant)
        with engine.connect() as conn:
            # A huge string that arrived on an accepted page is stored whole, not cut.
            longest = conn.execute(sa.text(
                f"SELECT max(length(display_message)) FROM {tenant_schema(tenant)}.log_events")).scalar()
        assert longest in (None, 1_000_000) or longest < 1000


def test_state_under_every_fault_then_equals_the_truth(sandbox: Sandbox, db: str) -> None:
    rng = random.Random(5)
    tenant = "faultstate"
    with warehouse(db, tenant) as engine:
        for round_ in range(1):
            sandbox.faults = everything(seed=10 + round_)
            mutate_org(sandbox, rng)
            try:
                load_all_state(sandbox, engine, tenant)
            except OktaError:
                pass
            assert_state_consistent(engine, tenant)
        sandbox.faults = Faults()
        pull_log(sandbox, engine, tenant)
        load_all_state(sandbox, engine, tenant)
        assert_state_complete(sandbox, engine, tenant)


def _snapshot(engine: sa.Engine, tenant: str, *tables: str) -> dict[str, list[str]]:
    """Every row of `tables` as text, sorted: what 'advances nothing' compares."""
    schema = tenant_schema(tenant)
    with engine.connect() as conn:
        return {t: sorted(conn.execute(sa.text(f"SELECT t::text FROM {schema}.{t} t")).scalars()) for t in tables}


def test_state_page_that_never_parses_fails_clearly_and_advances_nothing(sandbox: Sandbox, db: str) -> None:
    tenant = "brokenstate"
    by_table = {ep.table: ep for ep in endpoints()}
    with warehouse(db, tenant) as engine:
        pull_log(sandbox, engine, tenant)
        load_all_state(sandbox, engine, tenant)
        mutate_org(sandbox, random.Random(1))
        before = _snapshot(engine, tenant, "users", "group_members", "child_sync", "ingest_marks")

        # A top-level list: the users endpoint never parses.
        sandbox.faults = Faults(always_broken=frozenset({"/api/v1/users"}))
        with client_for(sandbox, tenant, max_attempts=2) as client, pytest.raises(OktaMalformedPageError) as err:
            load_state(client, engine, tenant, by_table["users"], FAST)
        message = str(err.value)
        assert f"tenant '{tenant}'" in message and "endpoint /api/v1/users" in message
        assert "cursor '/api/v1/users?" in message and "search=lastUpdated" in message
        assert _snapshot(engine, tenant, "users", "ingest_marks") == {
            k: before[k] for k in ("users", "ingest_marks")}

        # Children: the groups (whose lastMembershipUpdated moved) load, then every group's
        # membership page never parses.
        sandbox.faults = Faults()
        with client_for(sandbox, tenant) as client:
            load_state(client, engine, tenant, by_table["groups"], FAST)
        before = _snapshot(engine, tenant, "group_members", "child_sync")
        sandbox.faults = Faults(always_broken=frozenset({"/api/v1/groups/"}))
        with client_for(sandbox, tenant, max_attempts=2) as client, pytest.raises(OktaMalformedPageError) as err:
            load_state(client, engine, tenant, by_table["group_members"], FAST)
        message = str(err.value)
        assert f"tenant '{tenant}'" in message and "/api/v1/groups/" in message and "cursor '/api/v1/groups/" in message
        assert _snapshot(engine, tenant, "group_members", "child_sync") == before

        # The fault gone, the next run catches up completely.
        sandbox.faults = Faults()
        pull_log(sandbox, engine, tenant)
        load_all_state(sandbox, engine, tenant)
        assert_state_complete(sandbox, engine, tenant)
