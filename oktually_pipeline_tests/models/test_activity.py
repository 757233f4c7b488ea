"""The access and activity models on the hand-written org."""

from __future__ import annotations

from oktually_pipeline_tests.models.conftest import build_models
from oktually_pipeline_tests.models.org_rows import NOW, ago


def test_user_app_access_lists_every_path(tiny_shared) -> None:
    rows = {(r.user_id, r.app_id, r.via, r.group_id) for r in tiny_shared("SELECT * FROM user_app_access")}
    assert rows == {
        ("u2", "app2", "direct", None),
        ("u1", "app1", "group", "g_appusers_spider_app1"), ("u2", "app1", "group", "g_appusers_spider_app1"),
        ("u4", "app1", "group", "g_appusers_lemur_app1"),
    }  # u9 is deleted, u10 deactivated; u2's GROUP-scope app_users row is the group path, not another
    path = tiny_shared("SELECT path FROM user_app_access WHERE user_id = 'u1'")[0].path
    assert "APPUSERS_spider_app1" in path


def test_admin_role_holders_directly_and_through_groups_with_targets(tiny_shared) -> None:
    rows = {(r.user_id, r.via, r.group_id, r.role_type): r for r in tiny_shared("SELECT * FROM admin_role_holders")}
    assert set(rows) == {
        ("u1", "group", "g_admins_spider", "USER_ADMIN"), ("u4", "group", "g_admins_lemur", "USER_ADMIN"),
        ("u6", "group", "g_admins_lemur", "USER_ADMIN"), ("u7", "group", "g_super", "SUPER_ADMIN"),
        ("u5", "direct", None, "HELP_DESK_ADMIN"), ("u4", "direct", None, "USER_ADMIN"),
        ("u7", "group", "g_super", "APP_ADMIN"), ("u7", "direct", None, "APP_ADMIN"), ("u6", "direct", None, "CUSTOM"),
    }  # u10's directly assigned role is left out: u10 is deactivated
    assert rows["u1", "group", "g_admins_spider", "USER_ADMIN"].target_group_ids == sorted(
        ["g_admins_spider", "g_users_spider", "g_appusers_spider_app1", "g_appusers_spider_app2", "g_users_lemur"])
    assert rows["u7", "group", "g_super", "SUPER_ADMIN"].target_group_ids == []
    # Targets belong to the assignment: u4's direct role shares its id with the group's, not its targets.
    assert rows["u5", "direct", None, "HELP_DESK_ADMIN"].target_group_names == ["USERS_lemur"]
    assert rows["u4", "direct", None, "USER_ADMIN"].target_group_ids == []
    assert rows["u4", "direct", None, "USER_ADMIN"].target_app_ids == []


def test_admin_role_holders_app_admins_with_their_apps(tiny_shared) -> None:
    rows = {r.via: r for r in tiny_shared("SELECT * FROM admin_role_holders WHERE role_type = 'APP_ADMIN'")}
    # u7 holds two APP_ADMIN assignments: SUPERUSERS' over app1, and its own over app2 and every
    # Salesforce instance; its target app4 is deleted, so it limits the role to nothing.
    group, direct = rows["group"], rows["direct"]
    assert (group.target_app_ids, group.target_app_labels, group.target_catalog_apps) == (["app1"], ["Product 1"], [])
    assert (direct.target_app_ids, direct.target_app_labels, direct.target_catalog_apps) == (
        ["app2"], ["Product 2"], ["salesforce"])
    assert direct.target_group_ids == [] and group.target_group_ids == []


def test_signin_daily_counts_per_tenant(tiny_shared) -> None:
    day = ago(1).date()
    rows = {r.tenant_id: r for r in tiny_shared("SELECT * FROM signin_daily WHERE day = :d", d=day)}
    assert set(rows) == {"0oaSpider", "0oaLemur", None}
    spider = rows["0oaSpider"]
    assert (spider.sign_ins, spider.failed_sign_ins, spider.distinct_users) == (2, 2, 2)
    assert spider.failures_by_reason == {"INVALID_CREDENTIALS": 1, "Sign-on policy": 1}
    assert (spider.mfa_verifications, spider.mfa_users) == (1, 1)
    # u3 belongs to two tenants and counts in both; "nobody" in none.
    assert (rows["0oaLemur"].sign_ins, rows["0oaLemur"].distinct_users) == (1, 1)
    assert (rows[None].sign_ins, rows[None].failed_sign_ins) == (0, 1)
    assert tiny_shared("SELECT sign_ins FROM signin_daily WHERE day = :d", d=ago(2).date())[0].sign_ins == 1


def test_dormant_users_use_last_login_and_events(scratch_engine, tiny) -> None:
    # Only u1, u2 (failed attempts only) and u3 appear in the log; nobody has a lastLogin.
    dormant = {r.user_id for r in tiny("SELECT user_id FROM dormant_users")}
    assert dormant == {"u2", "u4", "u5", "u6", "u7"}
    tiny("UPDATE users SET last_login = :t WHERE id = 'u4'", t=ago(30))
    tiny("UPDATE users SET last_login = :t WHERE id = 'u5'", t=ago(120))
    build_models(scratch_engine, dormant_days=100)
    rows = {r.user_id: r for r in tiny("SELECT * FROM dormant_users")}
    assert set(rows) == {"u2", "u5", "u6", "u7"}
    assert rows["u5"].days_since_sign_in == 120 and rows["u5"].threshold_days == 100
    assert rows["u2"].never_signed_in and rows["u2"].tenant_ids == ["0oaSpider"]
    assert rows["u2"].as_of == NOW


def test_deprovisioned_with_access(tiny_shared) -> None:
    rows = {(r.user_id, r.access, r.object_id) for r in tiny_shared("SELECT * FROM deprovisioned_with_access")}
    # Deleted u8 and u9 still have rows (the loader lags); Everyone is not access.
    assert rows == {
        ("u10", "group_membership", "g_users_lemur"), ("u10", "group_membership", "g_appusers_lemur_app1"),
        ("u10", "app_assignment", "app2"),
        ("u8", "group_membership", "g_super"),
        ("u9", "group_membership", "g_users_spider"), ("u9", "group_membership", "g_appusers_spider_app1"),
    }


def test_recent_admin_changes_within_window(scratch_engine, tiny) -> None:
    rows = tiny("SELECT * FROM recent_admin_changes")
    assert [(r.uuid, r.change, r.target_id, r.privileges) for r in rows] == [
        ("e8", "grant", "u1", "Super administrator")]
    build_models(scratch_engine, admin_changes_days=365)
    assert {r.uuid for r in tiny("SELECT uuid FROM recent_admin_changes")} == {"e8", "e9"}


def test_admin_role_holders_custom_roles_with_their_resource_set(tiny_shared) -> None:
    (row,) = tiny_shared("SELECT * FROM admin_role_holders WHERE role_type = 'CUSTOM'")
    assert (row.user_id, row.resource_set_id, row.resource_set_label) == ("u6", "iam_support", "support")
    assert (row.custom_role_id, row.permissions) == ("cr0_viewer", ["okta.groups.read", "okta.users.read"])
    # The set's live resources only: its apps resource is gone.
    assert row.resource_orns == ["orn:okta:directory:test:groups:g_users_lemur", "orn:okta:directory:test:users"]
    standard = tiny_shared("SELECT resource_set_id, resource_orns, permissions FROM admin_role_holders "
                           "WHERE role_type <> 'CUSTOM'")
    assert standard and all(r.resource_set_id is None and r.resource_orns == r.permissions == [] for r in standard)


def test_service_app_admins_with_their_targets_and_custom_role(tiny_shared) -> None:
    rows = {r.role_type: r for r in tiny_shared("SELECT * FROM service_app_admins")}
    # The deleted app4's client holds nothing.
    assert set(rows) == {"SUPER_ADMIN", "USER_ADMIN", "APP_ADMIN", "CUSTOM"}
    assert {(r.app_id, r.app_label, r.client_id, r.application_type) for r in rows.values()} == {
        ("svc", "Provisioning sync", "0oaSvcClient", "service")}
    # Live targets only: the deleted group and the deleted app limit nothing.
    admin = rows["USER_ADMIN"]
    assert (admin.target_group_ids, admin.target_group_names) == (["g_users_lemur"], ["USERS_lemur"])
    apps = rows["APP_ADMIN"]
    assert (apps.target_app_ids, apps.target_app_labels, apps.target_catalog_apps) == (["app3"], ["Product 3"], ["box"])
    assert rows["SUPER_ADMIN"].target_group_ids == rows["SUPER_ADMIN"].target_app_ids == []
    custom = rows["CUSTOM"]
    assert (custom.permissions, custom.resource_set_label) == (["okta.groups.read", "okta.users.read"], "support")
    assert custom.resource_orns == ["orn:okta:directory:test:groups:g_users_lemur", "orn:okta:directory:test:users"]
    assert custom.resource_descriptions == ["group USERS_lemur", "every user"]
    assert rows["SUPER_ADMIN"].permissions == [] and rows["SUPER_ADMIN"].resource_set_id is None


def test_resource_set_scope_names_what_each_orn_covers(tiny_shared) -> None:
    rows = {r.orn: r for r in tiny_shared("SELECT * FROM resource_set_scope WHERE resource_set_id = 'iam_wide'")}
    assert {orn: (r.kind, r.description) for orn, r in rows.items()} == {
        "orn:okta:directory:test:users": ("all_users", "every user"),
        "orn:okta:directory:test:groups": ("all_groups", "every group"),
        "orn:okta:directory:test:groups:g_super:contained_resources": ("group_members",
                                                                       "the members of group SUPERUSERS"),
        "orn:okta:directory:test:groups:g_gone": ("group", "group g_gone (gone)"),
        "orn:okta:idp:test:apps": ("all_apps", "every app"),
        "orn:okta:idp:test:apps:salesforce": ("app_type", "every salesforce app"),
        "orn:okta:idp:test:apps:oidc_client:app1": ("app", "app Product 1"),
        "orn:okta:idp:test:apps:oidc_client:app4": ("app", "app app4 (gone)"),
        "orn:okta:workflow:test:flows": ("other", "orn:okta:workflow:test:flows"),
        "not-an-orn": ("other", "not-an-orn"),
    }
    app = rows["orn:okta:idp:test:apps:oidc_client:app1"]
    assert (app.app_type, app.app_id) == ("oidc_client", "app1")
    assert rows["orn:okta:directory:test:groups:g_super:contained_resources"].group_id == "g_super"
    # The role holders name what their resource set covers, in the order of its ORNs.
    (holder,) = tiny_shared("SELECT resource_descriptions FROM admin_role_holders WHERE role_type = 'CUSTOM'")
    assert holder.resource_descriptions == ["group USERS_lemur", "every user"]
