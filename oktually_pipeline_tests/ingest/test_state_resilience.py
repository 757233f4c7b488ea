"""The state loader's cost and crash behaviour: a no-change run makes a small constant number of
calls whatever the org's size, and a run killed part-way leaves tables and marks consistent."""

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from oktually_pipeline.ingest.state import LoadOptions, load_state
from oktually_pipeline.okta.endpoints import BY_TABLE, USERS
from oktually_pipeline.sandbox import Sandbox, SandboxConfig
from oktually_pipeline.warehouse.schema import ensure_tenant_schema
from oktually_pipeline_tests.ingest.state_helpers import (
    client_for,
    close_clients,
    live_keys,
    load_all,
    scalar,
)

TOKEN = "00sandbox-state-resilience-token-0123456789"
# users, groups and apps (one page each, whatever the org's size), idps, one call per policy type,
# and the short lists of role assignees, resource sets and custom roles.
NO_CHANGE_CALLS = {"/api/v1/users": 1, "/api/v1/groups": 1, "/api/v1/apps": 1, "/api/v1/idps": 1,
                   "/api/v1/policies": 12, "/api/v1/iam/assignees/users": 1, "/api/v1/iam/resource-sets": 1,
                   "/api/v1/iam/roles": 1}


class Killed(RuntimeError):
    """Stands in for a worker killed mid-run."""


def kill_after(n: int):
    def hook(stream: str, committed: int) -> None:
        if committed >= n:
            raise Killed(f"{stream}: killed after {committed} commits")
    return hook


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(seed=5, tenants=4, users=200, events=50, days=1, tokens=(TOKEN,))) as sb:
        yield sb
        close_clients()


def _no_change_calls(tenants: int, users: int, engine: sa.Engine, tenant_id: str,
                     monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, int], int]:
    with Sandbox(SandboxConfig(seed=9, tenants=tenants, users=users, events=20, days=1, tokens=(TOKEN,))) as sb:
        first = load_all(sb, engine, tenant_id)
        sb.stats.reset()
        again = load_all(sb, engine, tenant_id)
        close_clients()
        assert all(r.upserted == r.fetched for r in again.values())
        assert sum(r.parents_read for r in again.values()) == 0
        return dict(sb.stats.by_template), first["group_members"].parents_read


def test_a_no_change_run_makes_the_same_few_calls_for_a_small_and_a_large_org(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    small, small_groups = _no_change_calls(2, 40, engine, "small", monkeypatch)
    large, large_groups = _no_change_calls(8, 260, engine, "large", monkeypatch)
    assert large_groups > 3 * small_groups  # the large org really has many more groups
    assert small == large == NO_CHANGE_CALLS


@pytest.mark.parametrize("workers", [1, 4])
def test_killed_midway_through_memberships_resumes_where_it_stopped(
    sandbox: Sandbox, engine: sa.Engine, workers: int
) -> None:
    load_all(sandbox, engine, tables=("users", "groups"))
    groups = {g for (g,) in live_keys(engine, "groups")}
    opts = LoadOptions(events_settle=timedelta(0), workers=workers, parents_per_batch=2,
                       on_commit=kill_after(3))
    with pytest.raises(Killed):
        load_all(sandbox, engine, tables=("group_members",), options=opts)

    # Each group is all or nothing: synced groups hold exactly their members, the rest nothing.
    truth = sandbox.org.snapshot()["group_members"]
    with engine.connect() as conn:
        synced = {k[0] for k in conn.execute(sa.text(
            "SELECT parent_key FROM okta_acme.child_sync WHERE stream = 'group_members'")).scalars()}
    assert 6 <= len(synced) < len(groups)
    got = live_keys(engine, "group_members")
    assert got == {m for m in truth if m[0] in synced}
    # The reconciliation is recorded as begun, not done.
    last_full = "SELECT details->>'last_full_at' FROM okta_acme.ingest_marks WHERE stream = 'group_members'"
    assert scalar(engine, last_full) is None

    sandbox.stats.reset()
    resumed = load_all(sandbox, engine, tables=("group_members",))["group_members"]
    assert resumed.parents_read == len(groups) - len(synced)
    assert sandbox.stats.by_template["/api/v1/groups/{id}/users"] == len(groups) - len(synced)
    assert live_keys(engine, "group_members") == truth
    assert scalar(engine, last_full)


def test_killed_between_pages_never_leaves_the_mark_ahead_of_its_rows(sandbox: Sandbox, engine: sa.Engine) -> None:
    small_pages = dataclasses.replace(USERS, page_size=30)
    ensure_tenant_schema(engine, "acme")
    with client_for(sandbox) as client:
        with pytest.raises(Killed):
            load_state(client, engine, "acme", small_pages, LoadOptions(batch_rows=30, on_commit=kill_after(2)))
        assert 0 < len(live_keys(engine, "users")) < len(sandbox.org.snapshot()["users"])
        assert scalar(engine, "SELECT mark FROM okta_acme.ingest_marks WHERE stream = 'users'") is None

        load_state(client, engine, "acme", small_pages)
        mark = scalar(engine, "SELECT mark FROM okta_acme.ingest_marks WHERE stream = 'users'")
        assert mark == scalar(engine, "SELECT max(last_updated) FROM okta_acme.users")

        # An incremental run killed after its first page keeps the old mark; the re-run catches up.
        new = [sandbox.org.create_user()["id"] for _ in range(70)]
        with pytest.raises(Killed):
            load_state(client, engine, "acme", small_pages, LoadOptions(batch_rows=30, on_commit=kill_after(1)))
        assert scalar(engine, "SELECT mark FROM okta_acme.ingest_marks WHERE stream = 'users'") == mark
        result = load_state(client, engine, "acme", small_pages)
        assert result.mode == "incremental"
    assert {(u,) for u in new} <= live_keys(engine, "users")
    assert live_keys(engine, "users") == {(u,) for u in sandbox.org.snapshot()["users"]}
    assert scalar(engine, "SELECT mark FROM okta_acme.ingest_marks WHERE stream = 'users'") == scalar(
        engine, "SELECT max(last_updated) FROM okta_acme.users")


def test_a_forced_full_refresh_rereads_every_parent(sandbox: Sandbox, engine: sa.Engine) -> None:
    load_all(sandbox, engine)
    sandbox.stats.reset()
    again = load_all(sandbox, engine, tables=("group_members", "app_users"),
                     options=LoadOptions(full_refresh=True, events_settle=timedelta(0)))
    assert again["group_members"].parents_read == len(live_keys(engine, "groups"))
    assert again["app_users"].parents_read == len(live_keys(engine, "apps"))
    assert again["group_members"].mode == "full_refresh"
    assert again["group_members"].removed == 0
    assert BY_TABLE["group_members"].child_of is not None


def test_a_policy_type_okta_refuses_is_skipped_and_its_rows_never_swept(sandbox: Sandbox, engine: sa.Engine) -> None:
    # The sandbox answers 400 to a blank `type`, as an org answers a policy type it does not have.
    policies = dataclasses.replace(BY_TABLE["policies"], fan_out=(("type", "OKTA_SIGN_ON"), ("type", "")))
    ensure_tenant_schema(engine, "acme")
    with client_for(sandbox) as client:
        first = load_state(client, engine, "acme", policies)
        assert first.refused == [""] and first.upserted > 0
        with engine.begin() as conn:  # a row of the refused slice, as if loaded before
            conn.execute(sa.text("INSERT INTO okta_acme.policies (id, type, raw) VALUES ('00pX', '', '{}')"))
        sandbox.stats.reset()
        again = load_state(client, engine, "acme", policies)
        assert sandbox.stats.by_template["/api/v1/policies"] == 1  # the refused type is not asked again
        assert again.mode == "full_list" and again.refused == [""] and again.deleted_marked == 0
        retried = load_state(client, engine, "acme", policies, LoadOptions(full_refresh=True))
        assert sandbox.stats.by_template["/api/v1/policies"] == 3
        assert retried.refused == [""]
    assert scalar(engine, "SELECT deleted_at FROM okta_acme.policies WHERE id = '00pX'") is None
