"""The tenancy models on the hand-written org: tenants, members, entitlements, convention issues."""

from __future__ import annotations


def test_tenants_resolve_idp_groups_and_counts(tiny_shared) -> None:
    rows = {r.tenant_name: r for r in tiny_shared("SELECT * FROM tenants")}
    assert set(rows) == {"spider", "lemur", "gibbon", "tarsier"}
    spider = rows["spider"]
    assert (spider.tenant_id, spider.admins_group_id, spider.users_group_id) == (
        "0oaSpider", "g_admins_spider", "g_users_spider")
    assert spider.admins_group_tenant_id == "0oaSpider" and spider.admins_group_tenant_id_ok
    # u9 is deleted: gone from Okta, whatever the membership rows say.
    assert (spider.admin_count, spider.user_count, spider.entitled_app_count) == (1, 3, 2)
    assert (rows["lemur"].admin_count, rows["lemur"].user_count, rows["lemur"].entitled_app_count) == (2, 4, 2)
    assert rows["gibbon"].admins_group_id is None and rows["gibbon"].users_group_id is None
    assert rows["tarsier"].admins_group_tenant_id == "0oaWrong" and not rows["tarsier"].admins_group_tenant_id_ok


def test_tenant_users_and_admins(tiny_shared) -> None:
    users = {(r.tenant_id, r.user_id): r.is_admin for r in tiny_shared("SELECT * FROM tenant_users")}
    assert users == {
        ("0oaSpider", "u1"): True, ("0oaSpider", "u2"): False, ("0oaSpider", "u3"): False,
        ("0oaLemur", "u4"): True, ("0oaLemur", "u5"): False, ("0oaLemur", "u3"): False,
        ("0oaLemur", "u10"): False, ("0oaTarsier", "u7"): False,
    }
    admins = {(r.tenant_id, r.user_id): r.is_tenant_user for r in tiny_shared("SELECT * FROM tenant_admins")}
    assert admins == {("0oaSpider", "u1"): True, ("0oaLemur", "u4"): True, ("0oaLemur", "u6"): False}


def test_entitlements_resolve_tenant_app_and_assignment(tiny_shared) -> None:
    rows = {r.group_name: r for r in tiny_shared("SELECT * FROM tenant_app_entitlements")}
    assert set(rows) == {"APPUSERS_spider_app1", "APPUSERS_spider_app2", "APPUSERS_lemur_app1",
                         "APPUSERS_spider_0oaGone", "APPUSERS_lemur_app3"}
    app1 = rows["APPUSERS_spider_app1"]
    assert (app1.tenant_id, app1.app_id, app1.app_exists, app1.assigned_to_app) == ("0oaSpider", "app1", True, True)
    assert app1.user_ids == ["u1", "u2"] and app1.user_count == 2
    gone = rows["APPUSERS_spider_0oaGone"]
    assert (gone.app_id, gone.app_exists, gone.assigned_to_app) == ("0oaGone", False, False)
    assert (rows["APPUSERS_lemur_app3"].app_exists, rows["APPUSERS_lemur_app3"].assigned_to_app) == (True, False)


def test_superusers_are_live_members(tiny_shared) -> None:
    assert [r.user_id for r in tiny_shared("SELECT * FROM superusers")] == ["u7"]


def test_convention_issues_finds_each_break_once(tiny_shared) -> None:
    issues = {(r.kind, r.tenant_id, tuple(r.object_ids)) for r in tiny_shared("SELECT * FROM convention_issues")}
    assert issues == {
        ("idp_without_groups", "0oaGibbon", ("0oaGibbon",)),
        ("admins_group_bad_tenant_id", "0oaTarsier", ("g_admins_tarsier", "0oaTarsier")),
        ("admins_group_missing_role", "0oaTarsier", ("g_admins_tarsier",)),
        ("appusers_unknown_app", "0oaSpider", ("g_appusers_spider_gone", "0oaGone")),
        ("appusers_not_assigned", "0oaLemur", ("g_appusers_lemur_app3", "app3")),
        ("admins_role_target_outside_tenant", "0oaSpider", ("g_admins_spider", "g_users_lemur")),
        ("user_in_multiple_tenants", None, ("u3",)),
        ("admin_not_tenant_user", "0oaLemur", ("u6", "g_admins_lemur")),
    }
    assert all(r.detail for r in tiny_shared("SELECT detail FROM convention_issues"))
