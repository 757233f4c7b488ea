"""A small hand-written okta-dac org with one of each convention break, and its built models."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from oktually_pipeline.models.materialize import materialize_model
from oktually_pipeline.models.specs import in_build_order
from oktually_pipeline.warehouse.schema import use_tenant_schema
from oktually_pipeline_tests.models.fixtures import (  # noqa: F401
    _scratch_database,
    module_engine,
    scratch_engine,
)
from oktually_pipeline_tests.models.org_rows import NOW, OrgRows, ago

TENANT = "tiny"


def tiny_org() -> OrgRows:
    """Tenants spider (clean but for the breaks named below), lemur, gibbon (no groups), tarsier.

    Breaks, one of each kind: gibbon has no groups; ADMINS_tarsier names another tenantId and holds no
    role; APPUSERS_spider_0oaGone names no app; APPUSERS_lemur_app3 is not assigned; ADMINS_spider
    targets USERS_lemur; u3 is a user of spider and lemur; u6 administers lemur without being a user.
    Roles assigned directly: u5 (help desk over USERS_lemur), u4 (Group Administrator), u10, u7 (app
    admin over app2, the deleted app4 and every Salesforce instance), u6 (a custom role, reading users
    and groups, over the `support` resource set). SUPERUSERS also administers app1. The API service
    app svc (client 0oaSvcClient) is a super admin, a Group Administrator over USERS_lemur and the
    deleted group g_gone, an app admin over app3, the deleted app4 and every Box instance, and holds
    the custom role; the deleted app4's client held a role too. The resource set `wide` holds one
    resource of every kind Okta's reference names, and two of kinds it does not.
    """
    org = OrgRows()
    for i in range(1, 11):
        org.user(f"u{i}", status="DEPROVISIONED" if i == 10 else "ACTIVE", deleted=i in (8, 9))
    for app in ("app1", "app2", "app3"):
        org.app(app, f"Product {app[-1]}")
    org.app("app4", "Product 4", deleted=True)
    org.tenant("0oaSpider", "spider", admins=("u1",), users=("u1", "u2", "u3", "u9"), apps=("app1", "app2"))
    org.tenant("0oaLemur", "lemur", admins=("u4", "u6"), users=("u4", "u5", "u3", "u10"), apps=("app1",))
    org.idp("0oaGibbon", "gibbon")
    org.idp("0oaTarsier", "tarsier")
    org.group("g_admins_tarsier", "ADMINS_tarsier", json.dumps({"tenantId": "0oaWrong"}))
    org.group("g_users_tarsier", "USERS_tarsier").members("g_users_tarsier", "u7")
    org.group("g_appusers_spider_gone", "APPUSERS_spider_0oaGone").members("g_appusers_spider_gone", "u2")
    org.group("g_appusers_lemur_app3", "APPUSERS_lemur_app3").members("g_appusers_lemur_app3", "u4")
    org.targets("g_admins_spider", "g_users_lemur")
    org.group("g_super", "SUPERUSERS").members("g_super", "u7", "u8")
    org.group("g_everyone", "Everyone", type="BUILT_IN").members("g_everyone", *(f"u{i}" for i in range(1, 11)))
    org.members("g_appusers_spider_app1", "u1", "u2", "u9").members("g_appusers_lemur_app1", "u4", "u10")
    org.app_user("app2", "u2").app_user("app2", "u10").app_user("app1", "u2", scope="GROUP")
    org.role("g_super", "SUPER_ADMIN")
    # Roles assigned to users directly: u4's USER_ADMIN repeats its group role's id, as Okta's
    # standard role ids do; u10 is deactivated and holds nothing while so.
    org.user_role("u5", "HELP_DESK_ADMIN", "g_users_lemur").user_role("u4", "USER_ADMIN")
    org.user_role("u10", "READ_ONLY_ADMIN")
    org.role("g_super", "APP_ADMIN").app_target("g_super", "oidc_client", "app1")
    org.user_role("u7", "APP_ADMIN")
    for name, app_id in (("oidc_client", "app2"), ("oidc_client", "app4"), ("salesforce", None)):
        org.app_target("u7", name, app_id, direct=True)
    org.resource_set("iam_support", "support", "orn:okta:directory:test:groups:g_users_lemur",
                     "orn:okta:directory:test:users", deleted_orns=("orn:okta:directory:test:apps",))
    org.custom_role("cr0_viewer", "viewer", "okta.users.read", "okta.groups.read")
    org.user_role("u6", "CUSTOM", role_id="irb_custom", custom_role_id="cr0_viewer", resource_set_id="iam_support")
    # Every kind of resource Okta's reference names, and two it does not.
    org.resource_set("iam_wide", "wide", "orn:okta:directory:test:users", "orn:okta:directory:test:groups",
                     "orn:okta:directory:test:groups:g_super:contained_resources",
                     "orn:okta:directory:test:groups:g_gone", "orn:okta:idp:test:apps",
                     "orn:okta:idp:test:apps:salesforce", "orn:okta:idp:test:apps:oidc_client:app1",
                     "orn:okta:idp:test:apps:oidc_client:app4", "orn:okta:workflow:test:flows", "not-an-orn")
    org.app("svc", "Provisioning sync", client_id="0oaSvcClient", application_type="service")
    org.group("g_gone", "Gone team", deleted=True)
    org.client_role("svc", "0oaSvcClient", "SUPER_ADMIN")
    org.client_role("svc", "0oaSvcClient", "USER_ADMIN", "g_users_lemur", "g_gone")
    org.client_role("svc", "0oaSvcClient", "APP_ADMIN",
                    app_targets=(("oidc_client", "app3"), ("oidc_client", "app4"), ("box", None)))
    org.client_role("svc", "0oaSvcClient", "CUSTOM", role_id="irb_svc_custom", custom_role_id="cr0_viewer",
                    resource_set_id="iam_support")
    org.client_role("app4", "0oaApp4Client", "ORG_ADMIN")
    return org


def query_on(engine: sa.Engine, tenant: str = TENANT) -> Callable[..., list[sa.Row]]:
    """A function running SQL in the tenant's schema and returning its rows."""

    def run(sql: str, **params) -> list[sa.Row]:
        with engine.begin() as conn:
            use_tenant_schema(conn, tenant)
            result = conn.execute(sa.text(sql), params)
            return list(result) if result.returns_rows else []
    return run


def build_models(engine: sa.Engine, tenant: str = TENANT, **params) -> dict[str, int]:
    return {m.name: materialize_model(engine, tenant, m, {"as_of": NOW, **params}) for m in in_build_order()}


def tiny_org_with_events() -> OrgRows:
    org = tiny_org()
    org.event("e1", "user.session.start", ago(1), "u1")
    org.event("e2", "user.session.start", ago(1), "u3")
    org.event("e3", "user.session.start", ago(1), "u2", result="FAILURE", reason="INVALID_CREDENTIALS")
    org.event("e4", "user.session.start", ago(1), "u2", result="DENY", reason="Sign-on policy")
    org.event("e5", "user.authentication.auth_via_mfa", ago(1), "u1")
    org.event("e6", "user.session.start", ago(1), "nobody", result="FAILURE", reason="INVALID_CREDENTIALS")
    org.event("e7", "user.session.start", ago(2), "u1")
    org.event("e8", "user.account.privilege.grant", ago(3), "u7",
              raw={"target": [{"type": "User", "id": "u1", "alternateId": "u1@example.com"}],
                   "debugContext": {"debugData": {"privilegeGranted": "Super administrator"}}})
    org.event("e9", "user.account.privilege.revoke", ago(200), "u7")
    return org


@pytest.fixture(scope="module")
def tiny_shared(module_engine: sa.Engine) -> Callable[..., list[sa.Row]]:
    """The tiny org and its models, built once per module; tests must not change them."""
    tiny_org_with_events().insert(module_engine, TENANT)
    build_models(module_engine)
    return query_on(module_engine)


@pytest.fixture
def tiny(scratch_engine: sa.Engine) -> Callable[..., list[sa.Row]]:
    """The tiny org and its models in the scratch database, free to change."""
    tiny_org_with_events().insert(scratch_engine, TENANT)
    build_models(scratch_engine)
    return query_on(scratch_engine)
