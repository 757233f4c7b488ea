"""The models follow the org as it changes: deactivations, deletions (rows with deleted_at are
gone), membership changes, reloaded incrementally and rebuilt, still matching the sandbox truth."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from oktually_pipeline.sandbox import Sandbox, SandboxConfig
from oktually_pipeline_tests.models.conftest import build_models, query_on
from oktually_pipeline_tests.models.sandbox_load import load_org
from oktually_pipeline_tests.models.truth import (
    COMPARED,
    Truth,
    expected_rows,
    model_rows,
)

ORG = "chg"


def test_models_follow_deactivations_deletions_and_membership_changes(scratch_engine: sa.Engine) -> None:
    as_of = datetime.now(timezone.utc).replace(microsecond=0)
    query = query_on(scratch_engine, ORG)
    with Sandbox(SandboxConfig(seed=23, tenants=5, users=60, events=200, days=1, now=as_of)) as sb:
        # Built directly here: test_sandbox_truth covers the run through Dagster.
        load_org(sb, scratch_engine, ORG, as_of - timedelta(days=2))
        build_models(scratch_engine, ORG, as_of=as_of)
        org, breaks = sb.org, {o for b in sb.org.convention_breaks for o in b.objects}
        t = org.tenants[4]  # the first four carry the seeded breaks
        users = [u for u in org.members[t.users] if u not in breaks and org.users[u]["status"] == "ACTIVE"]
        appusers = next(g for g in org.groups if org.groups[g]["profile"]["name"].startswith(f"APPUSERS_{t.name}_")
                        and org.members[g] and g not in breaks)
        app_member = next(iter(org.members[appusers]))
        org.deactivate_user(users[0])                      # keeps memberships: deprovisioned_with_access
        org.deactivate_user(users[1])
        org.delete_user(users[1])                          # gone everywhere
        org.delete_group(appusers)                         # an entitlement and its access paths go
        org.remove_member(t.admins, next(iter(org.members[t.admins])))
        org.assign_user_role(users[2], "GROUP_MEMBERSHIP_ADMIN", [t.users])  # a new direct role holder
        org.assign_user_role(users[3], "READ_ONLY_ADMIN")
        product = next(a for a, app in org.apps.items() if app["label"] == "Billing")
        org.assign_user_role(users[4], "APP_ADMIN", app_targets=[("oidc_client", product), ("box", None)])
        (support,) = org.resource_sets
        org.add_resource(support, org.orn("groups", t.users))  # the custom role now covers this tenant too
        (viewer,) = org.custom_roles
        org.grant_permission(viewer, "okta.users.manage")  # and may now manage users
        org.deactivate_user(users[3])                      # holds nothing while deactivated
        (super_admin,) = [u for u, rs in org.user_roles.items() if any(r["type"] == "SUPER_ADMIN" for r in rs.values())]
        org.revoke_user_role(super_admin, next(iter(org.user_roles[super_admin])))
        load_org(sb, scratch_engine, ORG, as_of)
        build_models(scratch_engine, ORG, as_of=datetime.now(timezone.utc))
        truth = Truth(sb, datetime.now(timezone.utc))
        for model in COMPARED:
            if model in ("dormant_users", "recent_admin_changes"):
                continue  # as_of moved; covered by test_sandbox_truth
            got, expected = model_rows(query, model), expected_rows(truth, model)
            assert got == expected, f"{model}: extra {sorted(got - expected)} missing {sorted(expected - got)}"

    assert query("SELECT deleted_at FROM users WHERE id = :u", u=users[1])[0].deleted_at is not None
    assert not query("SELECT 1 FROM tenant_users WHERE user_id = :u", u=users[1])
    assert query("SELECT 1 FROM deprovisioned_with_access WHERE user_id = :u", u=users[0])
    assert not query("SELECT 1 FROM tenant_app_entitlements WHERE group_id = :g", g=appusers)
    assert not query("SELECT 1 FROM user_app_access WHERE group_id = :g AND user_id = :u", g=appusers, u=app_member)
    assert [tuple(r) for r in query("SELECT role_type, target_group_ids FROM admin_role_holders "
                                    "WHERE user_id = :u AND via = 'direct'", u=users[2])] == [
        ("GROUP_MEMBERSHIP_ADMIN", [t.users])]
    assert [tuple(r) for r in query("SELECT role_type, target_app_labels, target_catalog_apps FROM admin_role_holders "
                                    "WHERE user_id = :u AND via = 'direct'", u=users[4])] == [
        ("APP_ADMIN", ["Billing"], ["box"])]
    assert [r.permissions for r in query("SELECT permissions FROM admin_role_holders WHERE role_type = 'CUSTOM'")] == [
        ["okta.groups.read", "okta.users.manage", "okta.users.read"]]
    first_users = org.tenants[0].users
    assert [r.resource_orns for r in query("SELECT resource_orns FROM admin_role_holders WHERE role_type = 'CUSTOM'")
            ] == [sorted([org.orn("groups", first_users), org.orn("groups", first_users, "contained_resources"),
                          org.orn("apps"), org.orn("groups", t.users)])]
    assert not query("SELECT 1 FROM admin_role_holders WHERE user_id IN (:a, :b) AND via = 'direct'",
                     a=users[3], b=super_admin)
