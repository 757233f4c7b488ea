"""The generic state loader against the sandbox over real HTTP and a real Postgres.

Full load, then incremental loads after changes in the org: the tables equal the org's truth
after each run, and an incremental result equals a fresh full reload.
"""

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from oktually_pipeline.ingest.state import LoadOptions
from oktually_pipeline.okta.endpoints import BY_TABLE
from oktually_pipeline.sandbox import Sandbox, SandboxConfig
from oktually_pipeline_tests.ingest.state_helpers import (
    close_clients,
    live_keys,
    live_rows,
    load_all,
    org_truth,
    pull_events,
    scalar,
)

TOKEN = "00sandbox-state-load-token-0123456789"


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(seed=7, tenants=4, users=200, events=300, days=2, tokens=(TOKEN,))) as sb:
        yield sb
        close_clients()


def assert_matches_org(sb: Sandbox, engine: sa.Engine, tenant_id: str = "acme") -> None:
    for table, keys in org_truth(sb).items():
        got = live_keys(engine, table, tenant_id)
        assert got == keys, f"{table}: missing {sorted(keys - got)[:5]}, extra {sorted(got - keys)[:5]}"


def change_everything(sb: Sandbox) -> dict[str, str]:
    """New, changed, deactivated and deleted users; membership and assignment changes; deletions.

    Several of these change app_users with no app event (a member added to an app's group, a user
    deactivated, a group deleted): only the version token of the app notices.
    """
    org = sb.org
    snap = org.snapshot()
    members = snap["group_members"]
    scopes = snap["app_user_scopes"]
    name = {g: v["profile"]["name"] for g, v in snap["groups"].items()}
    active = sorted(u for u, v in snap["users"].items() if v["status"] == "ACTIVE")
    app_groups = sorted(snap["app_groups"])
    assigned = sorted({g for _, g in app_groups})
    targeted = {t for _, _, t in snap["group_role_targets"]}

    g_add = assigned[0]
    u_add = next(u for u in active if (g_add, u) not in members)
    org.add_member(g_add, u_add)
    u_deact = next(u for u in active if u != u_add and any((g, u) in members for g in assigned))
    org.deactivate_user(u_deact)
    u_del = next(u for u in active if u not in {u_add, u_deact} and any(
        (g, u) in members for g in name if name[g].startswith("USERS_")))
    org.deactivate_user(u_del)
    org.delete_user(u_del)
    u_renamed = next(u for u in active if u not in {u_add, u_deact, u_del})
    org.update_user(u_renamed, firstName="Renamed")
    new_user = org.create_user(tenant="acme")["id"]
    g_rm, u_rm = next((g, u) for g, u in sorted(members)
                      if name[g].startswith("USERS_") and u not in {u_add, u_deact, u_del})
    org.remove_member(g_rm, u_rm)
    direct = sorted(k for k, v in scopes.items() if v == "USER" and k[1] not in {u_deact, u_del})
    org.unassign_app_user(*direct[0])
    org.assign_app_user(direct[-1][0], next(u for u in active if (direct[-1][0], u) not in scopes
                                            and u not in {u_deact, u_del}))
    org.unassign_app_group(*app_groups[0])
    new_group = org.create_group("NEW_GROUP", "made by the test")["id"]
    org.add_member(new_group, new_user)
    org.assign_app_group(app_groups[-1][0], new_group)
    doomed_group = next(g for g in assigned[1:] if g in targeted and g != app_groups[0][1])
    org.delete_group(doomed_group)
    doomed_app = next(a for a, _ in reversed(app_groups) if a not in {app_groups[0][0], app_groups[-1][0]})
    # An app admin role on the new group, over the app about to go and every Box instance: only
    # the catalog target outlives the app.
    org.assign_group_role(new_group, "APP_ADMIN", app_targets=[(snap["apps"][doomed_app]["name"], doomed_app),
                                                               ("box", None)])
    org.delete_app(doomed_app)
    # A resource set gains a group and loses its first resource: only its lastUpdated tells.
    (support,) = snap["resource_sets"]
    org.add_resource(support, org.orn("groups", new_group))
    org.remove_resource(support, org.resource_set_resources[support][0]["id"])
    (viewer,) = snap["custom_roles"]
    org.grant_permission(viewer, "okta.users.manage")
    # Directly assigned roles: a new assignee, a second (scoped) role for an assignee, which only
    # a privilege event tells, and a revoked last role, which drops its user from the assignees.
    org.assign_user_role(u_renamed, "READ_ONLY_ADMIN")
    types = snap["user_role_types"]
    (super_admin,) = {u for (u, r), t in types.items() if t == "SUPER_ADMIN"}
    (help_desk, help_desk_role), = [k for k, t in types.items() if t == "HELP_DESK_ADMIN"]
    org.assign_user_role(super_admin, "GROUP_MEMBERSHIP_ADMIN", [new_group, assigned[-1]])
    org.revoke_user_role(help_desk, help_desk_role)
    return {"new_user": new_user, "deleted_user": u_del, "deactivated": u_deact,
            "deleted_group": doomed_group, "deleted_app": doomed_app}


def test_full_then_incremental_track_the_org_and_equal_a_full_reload(sandbox: Sandbox, engine: sa.Engine) -> None:
    pull_events(sandbox, engine)
    first = load_all(sandbox, engine)
    assert {r.mode for t, r in first.items()} == {"full_refresh"}
    assert_matches_org(sandbox, engine)

    changed = change_everything(sandbox)
    pull_events(sandbox, engine)
    second = load_all(sandbox, engine)
    assert second["users"].mode == "incremental" and second["group_members"].mode == "incremental"
    assert_matches_org(sandbox, engine)
    # Gone objects stay, marked; their memberships and assignments are gone.
    for table, key in (("users", "deleted_user"), ("groups", "deleted_group"), ("apps", "deleted_app")):
        assert scalar(engine, f"SELECT deleted_at IS NOT NULL FROM okta_acme.{table} WHERE id = :i", i=changed[key])
    status = scalar(engine, "SELECT status FROM okta_acme.users WHERE id = :i", i=changed["deactivated"])
    assert status == "DEPROVISIONED"
    for table, column, key in (("group_members", "group_id", "deleted_group"), ("app_users", "app_id", "deleted_app"),
                               ("group_members", "user_id", "deleted_user")):
        assert not scalar(engine, f"SELECT count(*) FROM okta_acme.{table} WHERE {column} = :i", i=changed[key])

    # A fresh full load of the same org, into another schema, holds exactly the same live rows.
    pull_events(sandbox, engine, "fresh")
    load_all(sandbox, engine, "fresh")
    for table in BY_TABLE:
        assert live_rows(engine, table) == live_rows(engine, table, "fresh"), table


def test_deprovisioned_users_are_kept_with_their_status(sandbox: Sandbox, engine: sa.Engine) -> None:
    statuses = {u: v["status"] for u, v in sandbox.org.snapshot()["users"].items()}
    load_all(sandbox, engine, tables=("users",))
    with engine.connect() as conn:
        got = dict(conn.execute(sa.text("SELECT id, status FROM okta_acme.users")).all())
    assert got == statuses
    assert "DEPROVISIONED" in got.values()


def test_reconciliation_marks_silently_deleted_objects_and_reappearing_rows_clear_it(
    sandbox: Sandbox, engine: sa.Engine
) -> None:
    load_all(sandbox, engine, tables=("users", "groups"))
    victim = sorted(sandbox.org.snapshot()["users"])[5]
    sandbox.org.deactivate_user(victim)
    sandbox.org.delete_user(victim)
    # No System Log pulled: an incremental run cannot know, the reconciliation does.
    load_all(sandbox, engine, tables=("users",))
    assert scalar(engine, "SELECT deleted_at FROM okta_acme.users WHERE id = :i", i=victim) is None
    result = load_all(sandbox, engine, tables=("users",),
                      options=LoadOptions(events_settle=timedelta(0), reconcile_every=timedelta(0)))["users"]
    assert result.mode == "full_refresh" and result.deleted_marked == 1
    assert scalar(engine, "SELECT deleted_at FROM okta_acme.users WHERE id = :i", i=victim) is not None

    alive = sorted(sandbox.org.snapshot()["users"])[0]
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE okta_acme.users SET deleted_at = now() WHERE id = :i"), {"i": alive})
    load_all(sandbox, engine, tables=("users",), options=LoadOptions(full_refresh=True))
    assert scalar(engine, "SELECT deleted_at FROM okta_acme.users WHERE id = :i", i=alive) is None
    assert live_keys(engine, "users") == {(u,) for u in sandbox.org.snapshot()["users"]}


def test_incremental_mark_moves_with_the_rows(sandbox: Sandbox, engine: sa.Engine) -> None:
    load_all(sandbox, engine, tables=("users", "groups"))
    mark = scalar(engine, "SELECT mark FROM okta_acme.ingest_marks WHERE stream = 'users'")
    newest = scalar(engine, "SELECT max(last_updated) FROM okta_acme.users")
    assert mark == newest
    user = sandbox.org.create_user()["id"]
    load_all(sandbox, engine, tables=("users",))
    assert scalar(engine, "SELECT mark FROM okta_acme.ingest_marks WHERE stream = 'users'") == scalar(
        engine, "SELECT last_updated FROM okta_acme.users WHERE id = :i", i=user)


def test_app_assignments_follow_log_events_and_group_membership(sandbox: Sandbox, engine: sa.Engine) -> None:
    pull_events(sandbox, engine)
    load_all(sandbox, engine)
    snap = sandbox.org.snapshot()
    app, user = next(k for k, v in sorted(snap["app_user_scopes"].items()) if v == "USER")

    # Okta's apps list has no lastUpdated filter and an unassignment leaves the app untouched:
    # without the System Log the change is invisible until the next reconciliation...
    sandbox.org.unassign_app_user(app, user)
    sandbox.stats.reset()
    load_all(sandbox, engine, tables=("app_users",))
    assert sandbox.stats.by_template["/api/v1/apps/{id}/users"] == 0
    assert (app, user) in live_keys(engine, "app_users")
    # ...and with it, exactly that app is re-read.
    pull_events(sandbox, engine)
    sandbox.stats.reset()
    load_all(sandbox, engine, tables=("app_users",))
    assert sandbox.stats.by_template["/api/v1/apps/{id}/users"] == 1
    assert (app, user) not in live_keys(engine, "app_users")

    # A member added to an app's group gets the app with no app event: the app's version token,
    # which covers its groups' lastMembershipUpdated, sends exactly the apps of that group.
    group = next(g for a, g in sorted(snap["app_groups"]))
    apps_of_group = {a for a, g in snap["app_groups"] if g == group}
    newcomer = sandbox.org.create_user()["id"]
    sandbox.org.add_member(group, newcomer)
    sandbox.stats.reset()
    load_all(sandbox, engine, tables=("users", "groups", "group_members", "apps", "app_groups", "app_users"))
    # The group, and Everyone, which every new user joins.
    assert sandbox.stats.by_template["/api/v1/groups/{id}/users"] == 2
    assert sandbox.stats.by_template["/api/v1/apps/{id}/users"] == len(apps_of_group)
    assert {(a, newcomer) for a in apps_of_group} <= live_keys(engine, "app_users")
    assert live_keys(engine, "app_users") == {tuple(k) for k in sandbox.org.snapshot()["app_users"]}


def test_client_roles_are_read_for_oauth_apps_and_caught_up_by_reconciliation(
        sandbox: Sandbox, engine: sa.Engine) -> None:
    org = sandbox.org
    calls = "/oauth2/v1/clients/{id}/roles"
    group_calls, app_calls = f"{calls}/{{id}}/targets/groups", f"{calls}/{{id}}/targets/catalog/apps"
    tables = ("client_roles", "client_role_targets", "client_role_app_targets")
    clients = org.snapshot()["app_clients"]

    def assert_client_tables_match() -> None:
        snap = org.snapshot()
        for table in tables:
            assert live_keys(engine, table) == snap[table], table

    pull_events(sandbox, engine)
    load_all(sandbox, engine)
    # One call per app with an OAuth client (Okta's own apps and SAML apps have none), and the
    # targets of the one scoped role.
    assert sandbox.stats.by_template[calls] == len(clients) >= 2
    assert (sandbox.stats.by_template[group_calls], sandbox.stats.by_template[app_calls]) == (1, 0)
    assert_client_tables_match()
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT app_id, client_id, role_type, assignment_type "
                                    "FROM okta_acme.client_roles ORDER BY role_type")).all()
    (service,) = {r.app_id for r in rows}
    assert [(r.client_id, r.role_type, r.assignment_type) for r in rows] == [
        (clients[service], t, "CLIENT") for t in ("GROUP_MEMBERSHIP_ADMIN", "READ_ONLY_ADMIN", "SUPER_ADMIN")]
    assert clients[service] != service  # the routes take the client id, not the app id
    assert {t for _, _, t in live_keys(engine, "client_role_targets")} == {org.tenants[0].users}

    # Nothing changed: no app is asked again.
    sandbox.stats.reset()
    load_all(sandbox, engine)
    assert sandbox.stats.by_template[calls] == 0

    # A grant to a client moves nothing we can see: the reconciliation catches it, and its targets.
    product = next(a for a in sorted(clients) if a != service)
    org.assign_client_role(product, "APP_ADMIN", app_targets=[("box", None), (org.apps[service]["name"], service)])
    load_all(sandbox, engine)
    assert live_keys(engine, "client_roles") != org.snapshot()["client_roles"]
    load_all(sandbox, engine, options=LoadOptions(events_settle=timedelta(0), reconcile_every=timedelta(0)))
    assert_client_tables_match()
    assert {a for a, _ in live_keys(engine, "client_roles")} == {service, product}
    assert {t for _, _, t in live_keys(engine, "client_role_app_targets")} == {"box", service}

    # A deleted app takes its client's roles and their targets with it, and leaves the app
    # targets of other clients' roles.
    org.delete_app(service)
    pull_events(sandbox, engine)
    load_all(sandbox, engine)
    assert {a for a, _ in live_keys(engine, "client_roles")} == {product}
    assert not live_keys(engine, "client_role_targets")
    assert {t for _, _, t in live_keys(engine, "client_role_app_targets")} == {"box"}
    assert_client_tables_match()


def test_app_admin_targets_follow_grants_app_deletions_and_reconciliation(sandbox: Sandbox, engine: sa.Engine) -> None:
    org = sandbox.org
    group_calls = "/api/v1/groups/{id}/roles/{id}/targets/catalog/apps"
    user_calls = "/api/v1/users/{id}/roles/{id}/targets/catalog/apps"
    app_tables = ("group_role_app_targets", "user_role_app_targets")

    def assert_app_targets_match() -> None:
        snap = org.snapshot()
        for table in app_tables:
            assert live_keys(engine, table) == {tuple(k) for k in snap[table]}, table

    pull_events(sandbox, engine)
    load_all(sandbox, engine)
    # Only APP_ADMIN roles are asked for app targets: the seeded org has one, assigned to a user.
    assert sandbox.stats.by_template[user_calls] == 1 and sandbox.stats.by_template[group_calls] == 0
    assert_app_targets_match()
    (admin, role, instance), = [k for k in org.snapshot()["user_role_app_targets"] if k[2] != "salesforce"]
    with engine.connect() as conn:
        rows = {r.target: r for r in conn.execute(sa.text(
            "SELECT target, app_name, app_id FROM okta_acme.user_role_app_targets WHERE user_id = :u"), {"u": admin})}
    assert (rows["salesforce"].app_name, rows["salesforce"].app_id) == ("salesforce", None)
    assert rows[instance].app_id == instance

    # A group granted APP_ADMIN: the privilege event sends its roles, and so its targets, to be read.
    group = next(g for g, v in sorted(org.snapshot()["groups"].items()) if v["profile"]["name"].startswith("USERS_"))
    other_app = next(a for a in sorted(org.snapshot()["apps"]) if a != instance)
    org.assign_group_role(group, "APP_ADMIN", app_targets=[(org.apps[other_app]["name"], other_app), ("box", None)])
    pull_events(sandbox, engine)
    sandbox.stats.reset()
    load_all(sandbox, engine)
    assert sandbox.stats.by_template[group_calls] == 1 and sandbox.stats.by_template[user_calls] == 0
    assert_app_targets_match()

    # A deleted app leaves every role's targets, with no event naming the role's holder.
    org.delete_app(instance)
    pull_events(sandbox, engine)
    load_all(sandbox, engine)
    assert (admin, role, instance) not in live_keys(engine, "user_role_app_targets")
    assert_app_targets_match()

    # Targets edited without an event naming the assignee: the reconciliation catches up.
    org.set_role_app_targets(admin, role, [("box", None)])
    load_all(sandbox, engine)
    assert (admin, role, "salesforce") in live_keys(engine, "user_role_app_targets")
    load_all(sandbox, engine, options=LoadOptions(events_settle=timedelta(0), reconcile_every=timedelta(0)))
    assert_app_targets_match()
    assert live_keys(engine, "user_role_app_targets") == {(admin, role, "box")}
