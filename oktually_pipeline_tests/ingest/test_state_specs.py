"""The endpoint declarations against Okta's recorded object shapes and the warehouse DDL."""

import re
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from oktually_pipeline.ingest import state_sql as q
from oktually_pipeline.ingest.state_common import rows_of as _rows
from oktually_pipeline.okta.endpoints import (
    BY_TABLE,
    ENDPOINTS,
    Endpoint,
    okta_time,
    parse_time,
    upstream_tables,
)
from oktually_pipeline.warehouse.schema import ensure_tenant_schema, use_tenant_schema

SAMPLES = Path("/work/shared/okta/api-samples")
SAMPLE_OF = {
    "users": "user.json", "groups": "group.json", "group_members": "group-member.json",
    "apps": "app.json", "app_users": "app-user.json", "app_groups": "app-group.json",
    "idps": "idp.json", "policies": "policy.json", "policy_rules": "policy-rule.json",
    "group_roles": "group-role.json", "group_role_targets": "role-target-group.json",
    "user_roles": "role.json", "user_role_targets": "role-target-group.json",
    "role_assigned_users": "openapi: RoleAssignedUsersResponseExample",
    "group_role_app_targets": "openapi: CatalogApplication", "user_role_app_targets": "openapi: CatalogApplication",
    "resource_sets": "openapi: ResourceSetsResponse", "resource_set_resources": "openapi: ResourceSetResourcesResponse",
    "custom_roles": "openapi: RolesResponse", "custom_role_permissions": "openapi: PermissionsResponse",
    "client_roles": "openapi: StandardRolesListResponseClient", "client_role_targets": "role-target-group.json",
    "client_role_app_targets": "openapi: CatalogApplication",
}
# Okta's OpenAPI description, components/examples/RoleAssignedUsersResponseExample: the `value` list.
ROLE_ASSIGNED_USERS_EXAMPLE = [{
    "id": "00u118oQYT4TBGuay0g4",
    "orn": "orn:okta:00o5rb5mt2H3d1TJd0h7:users:00u118oQYT4TBGuay0g4",
    "_links": {"self": {"href": "http://your-subdomain.okta.com/api/v1/users/00u118oQYT4TBGuay0g4"},
               "roles": {"href": "http://your-subdomain.okta.com/api/v1/users/00u118oQYT4TBGuay0g4/roles"}},
}]

# Okta's OpenAPI description gives no example of an app target list; these follow its
# components/schemas/CatalogApplication, with the schema's example values: an OIN catalog app
# (no `id`: every instance) and an app instance (with its `id`).
CATALOG_APPLICATION_EXAMPLE = [
    {"name": "salesforce", "displayName": "Salesforce.com", "description": "CRM", "category": "SOCIAL",
     "status": "ACTIVE", "verificationStatus": "OKTA_VERIFIED", "website": "https://www.salesforce.com",
     "signOnModes": ["SAML_2_0"], "features": [], "lastUpdated": "2024-09-19T23:37:37.000Z",
     "_links": {"logo": [{"name": "medium", "href": "https://example.okta.com/logo.png", "type": "image/png"}]}},
    {"name": "oidc_client", "displayName": "Analytics", "id": "0oa1gjh63g214q0Hq0g4", "category": "SOCIAL",
     "status": "ACTIVE", "signOnModes": ["OPENID_CONNECT"], "features": [], "lastUpdated": "2024-09-19T23:37:37.000Z",
     "_links": {}},
]

# Okta's OpenAPI description, components/examples/ResourceSetsResponse and
# ResourceSetResourcesResponse: the listed objects (the first of each, and a whole-directory ORN).
RESOURCE_SETS_EXAMPLE = [{
    "id": "iamoJDFKaJxGIr0oamd9g", "label": "SF-IT-1", "description": "First San Francisco IT Resource Set",
    "created": "2021-02-06T16:20:57.000Z", "lastUpdated": "2021-02-06T16:20:57.000Z",
    "_links": {"self": {"href": "https://{yourOktaDomain}/api/v1/iam/resource-sets/iamoJDFKaJxGIr0oamd9g"},
               "resources": {"href": "https://{yourOktaDomain}/api/v1/iam/resource-sets/iamoJDFKaJxGIr0oamd9g/resources"},
               "bindings": {"href": "https://{yourOktaDomain}/api/v1/iam/resource-sets/iamoJDFKaJxGIr0oamd9g/bindings"}},
}]
RESOURCE_SET_RESOURCES_EXAMPLE = [
    {"id": "ire106sQKoHoXXsAe0g4", "orn": "orn:{partition}:directory:{yourOrgId}:groups:00guaxWZ0AOa5NFAj0g3",
     "created": "2021-02-06T16:20:57.000Z", "lastUpdated": "2021-02-06T16:20:57.000Z",
     "_links": {"self": {"href": "https://{yourOktaDomain}/api/v1/groups/00guaxWZ0AOa5NFAj0g3"}}},
    {"id": "irezvo4AwE2ngpMw40g3", "orn": "orn:{partition}:directory:{yourOrgId}:users",
     "created": "2021-02-06T16:20:57.000Z", "lastUpdated": "2021-02-06T16:20:57.000Z",
     "_links": {"self": {"href": "https://{yourOktaDomain}/api/v1/users"}}},
]
# components/examples/RolesResponse and PermissionsResponse: the first role, and two of its
# permissions, one with conditions.
CUSTOM_ROLES_EXAMPLE = [{
    "id": "cr0Yq6IJxGIr0ouum0g3", "label": "UserCreator", "description": "Create users",
    "created": "2021-02-06T16:20:57.000Z", "lastUpdated": "2021-02-06T16:20:57.000Z",
    "_links": {"permissions": {"href": "https://{yourOktaDomain}/api/v1/iam/roles/cr0Yq6IJxGIr0ouum0g3/permissions"},
               "self": {"href": "https://{yourOktaDomain}/api/v1/iam/roles/cr0Yq6IJxGIr0ouum0g3"}},
}]
CUSTOM_ROLE_PERMISSIONS_EXAMPLE = [
    {"label": "okta.users.create", "created": "2021-02-06T16:20:57.000Z", "lastUpdated": "2021-02-06T16:20:57.000Z",
     "_links": {"role": {"href": "https://{yourOktaDomain}/api/v1/iam/roles/cr0Yq6IJxGIr0ouum0g3"}}},
    {"label": "okta.users.read", "created": "2021-02-06T16:20:57.000Z", "lastUpdated": "2021-02-06T16:20:57.000Z",
     "conditions": {"include": {"okta:ResourceAttribute/User/Profile": ["city", "state", "zipCode"]}},
     "_links": {"role": {"href": "https://{yourOktaDomain}/api/v1/iam/roles/cr0Yq6IJxGIr0ouum0g3"}}},
]
# components/examples/StandardRolesListResponseClient: a client's role assignment.
CLIENT_ROLES_EXAMPLE = [{
    "id": "JBCUYUC7IRCVGS27IFCE2SKO", "label": "Help Desk Administrator", "type": "HELP_DESK_ADMIN",
    "status": "ACTIVE", "created": "2023-05-01T14:24:54.000Z", "lastUpdated": "2023-05-01T14:24:54.000Z",
    "assignmentType": "CLIENT",
    "_links": {"assignee": {"href": "https://{yourOktaDomain}/oauth2/v1/clients/0jrabyQWm4B9zVJPbotY/roles"}},
}]
# components/examples/CustomRolesListResponseGroup and CustomRolesListResponseClient: a custom role
# given through a resource set's binding shows in the holder's role list, its `member` link naming
# the binding member. So the role lists read bindings too, without reading the bindings themselves.
CUSTOM_ROLE_BINDING_EXAMPLES = {
    "group_roles": [{
        "id": "irb1q92TFAHzySt3x0g4", "role": "cr0Yq6IJxGIr0ouum0g3", "label": "UserCreatorRole", "type": "CUSTOM",
        "status": "ACTIVE", "created": "2019-02-06T16:20:57.000Z", "lastUpdated": "2019-02-06T16:20:57.000Z",
        "assignmentType": "GROUP", "resource-set": "iamoJDFKaJxGIr0oamd9g",
        "_links": {
            "assignee": {"href": "https://{yourOktaDomain}/api/v1/groups/00g1emaKYZTWRYYRRTSK"},
            "resource-set": {"href": "https://{yourOktaDomain}/api/v1/iam/resource-sets/iamoJDFKaJxGIr0oamd9g"},
            "member": {"href": "https://{yourOktaDomain}/api/v1/iam/resource-sets/iamoJDFKaJxGIr0oamd9g/bindings/"
                               "cr0Yq6IJxGIr0ouum0g3/members/irb1qe6PGuMc7Oh8N0g4"},
            "role": {"href": "https://{yourOktaDomain}/api/v1/iam/roles/cr0Yq6IJxGIr0ouum0g3"}}}],
    "client_roles": [{
        "id": "irb4ey26fpFI3vQ8y0g7", "label": "view_minimal", "type": "CUSTOM", "status": "ACTIVE",
        "created": "2023-05-01T15:16:47.000Z", "lastUpdated": "2023-05-01T15:16:47.000Z", "assignmentType": "CLIENT",
        "resource-set": "iam4cxy6z7hhaZCSk0g7", "role": "cr04cxy6yzSCtNciD0g7",
        "_links": {
            "role": {"href": "https://{yourOktaDomain}/api/v1/iam/roles/cr04cxy6yzSCtNciD0g7"},
            "member": {"href": "https://{yourOktaDomain}/api/v1/iam/resource-sets/iam4cxy6z7hhaZCSk0g7/bindings/"
                               "cr04cxy6yzSCtNciD0g7/members/irb4ey26fpFI3vQ8y0g7"},
            "assignee": {"href": "https://{yourOktaDomain}/oauth2/v1/clients/0oa4ee9vgbIuqTUvd0g7"}}}],
}
EXAMPLES = {"role_assigned_users": ROLE_ASSIGNED_USERS_EXAMPLE, "resource_sets": RESOURCE_SETS_EXAMPLE,
            "resource_set_resources": RESOURCE_SET_RESOURCES_EXAMPLE, "custom_roles": CUSTOM_ROLES_EXAMPLE,
            "custom_role_permissions": CUSTOM_ROLE_PERMISSIONS_EXAMPLE, "client_roles": CLIENT_ROLES_EXAMPLE}


def _sample(table: str) -> list[dict]:
    if table in EXAMPLES:
        return EXAMPLES[table]
    if table.endswith("_role_app_targets"):
        return CATALOG_APPLICATION_EXAMPLE
    return orjson.loads((SAMPLES / SAMPLE_OF[table]).read_bytes())


def _records(ep: Endpoint, items: list, bound: tuple[str, ...] = ()) -> list[dict]:
    """The rows `ep` makes of `items`, each as column -> value (`raw` last)."""
    rows, _ = _rows(ep, items, bound)
    return [dict(zip((*ep.all_columns, "raw"), row)) for row in rows]


def test_every_table_has_an_endpoint_and_an_asset_key() -> None:
    assert set(SAMPLE_OF) == set(BY_TABLE)
    assert [e.asset_key for e in ENDPOINTS] == [f"okta_{t}" for t in BY_TABLE]
    seen: set[str] = set()
    for ep in ENDPOINTS:
        # Declared in dependency order, so a plain loop over ENDPOINTS loads like Dagster would.
        assert set(upstream_tables(ep)) <= seen, ep.table
        seen.add(ep.table)
        if ep.child_of:
            assert ep.child_of.parent in BY_TABLE
            # The path takes some of the bound columns (client_roles also keeps the app id).
            placeholders = set(re.findall(r"\{(\w+)\}", ep.path))
            assert placeholders and placeholders <= set(ep.bound_columns), ep.table


@pytest.mark.skipif(not SAMPLES.exists(), reason="Okta samples not available")
@pytest.mark.parametrize("table", sorted(SAMPLE_OF))
def test_columns_extract_from_recorded_objects(table: str) -> None:
    ep = BY_TABLE[table]
    items = [i for i in _sample(table) if ep.keeps(i)]
    assert items, f"{table}: the sample holds no object the table keeps"
    bound = tuple(f"parent-{c}" for c in ep.bound_columns)
    rows, newest = _rows(ep, items, bound)
    assert len(rows) == len(items)
    names = (*ep.all_columns, "raw")
    for row, item in zip(rows, items):
        record = dict(zip(names, row))
        assert (orjson.loads(record["raw"]) if ep.keep_raw else item) == item
        assert ep.keep_raw or record["raw"] is None
        for k in ep.key:
            assert record[k] is not None
        for c in ep.columns:
            if c.kind == "timestamp" and item.get(c.path):
                assert isinstance(record[c.name], datetime) and record[c.name].tzinfo is not None
    if ep.cursor:
        assert newest is not None


def test_users_sample_columns() -> None:
    rows, newest = _rows(BY_TABLE["users"], orjson.loads((SAMPLES / "user.json").read_bytes()))
    first = dict(zip((*BY_TABLE["users"].all_columns, "raw"), rows[0]))
    assert first["login"] == "John.Doe-Assign-User-Role@example.com"
    assert first["user_type_id"] == "otynwlw0pkLLUgtNG5d7"
    assert first["last_login"] is None
    assert newest == datetime(2025, 8, 7, 13, 11, 36, tzinfo=timezone.utc)


def test_user_roles_keep_direct_assignments_only() -> None:
    # role.json lists two roles assigned to the user and one it holds through a group.
    ep = BY_TABLE["user_roles"]
    record = _records(ep, orjson.loads((SAMPLES / "role.json").read_bytes()), ("00u1",))
    assert [(r["role_type"], r["assignment_type"]) for r in record] == [("USER_ADMIN", "USER"), ("SUPER_ADMIN", "USER")]


def test_custom_role_assignments_keep_their_role_and_resource_set() -> None:
    # role.json's third role is a custom role held through a group: a group_roles row.
    ep = BY_TABLE["group_roles"]
    record = {r["role_type"]: r for r in _records(ep, orjson.loads((SAMPLES / "role.json").read_bytes()), ("00g1",))}
    assert (record["CUSTOM"]["custom_role_id"], record["CUSTOM"]["resource_set_id"]) == (
        "cr0a688qm6u91Un0m5d7", "iama688hw0VLl1JrA5d7")
    assert (record["SUPER_ADMIN"]["custom_role_id"], record["SUPER_ADMIN"]["resource_set_id"]) == (None, None)


@pytest.mark.parametrize("table", sorted(CUSTOM_ROLE_BINDING_EXAMPLES))
def test_custom_roles_given_through_a_binding_keep_their_role_and_resource_set(table: str) -> None:
    ep = BY_TABLE[table]
    [item] = CUSTOM_ROLE_BINDING_EXAMPLES[table]
    binding = item["_links"]["member"]["href"].split("/iam/resource-sets/")[1].split("/")
    [record] = _records(ep, [item], tuple(f"parent-{c}" for c in ep.bound_columns))
    # The binding's resource set and role, as its member link names them.
    assert (record["resource_set_id"], "bindings", record["custom_role_id"]) == tuple(binding[:3])
    assert (record["role_id"], record["role_type"]) == (item["id"], "CUSTOM")


def test_app_targets_are_keyed_by_instance_id_or_catalog_name() -> None:
    ep = BY_TABLE["group_role_app_targets"]
    record = _records(ep, CATALOG_APPLICATION_EXAMPLE, ("00g1", "irb1"))
    assert [(r["target"], r["app_name"], r["app_id"]) for r in record] == [
        ("salesforce", "salesforce", None), ("0oa1gjh63g214q0Hq0g4", "oidc_client", "0oa1gjh63g214q0Hq0g4")]
    # Neither an id nor a name: no key, so the object is skipped, as for any other table.
    assert _rows(ep, [{"displayName": "nameless"}], ("00g1", "irb1"))[0] == []


def test_objects_without_a_key_are_skipped_not_fatal() -> None:
    rows, _ = _rows(BY_TABLE["groups"], [{"profile": {"name": "x"}}, "junk", {"id": "00g1"}])
    assert [r[0] for r in rows] == ["00g1"]


@pytest.mark.parametrize(("value", "expected"), [
    ("2020-08-27T18:14:07.000Z", datetime(2020, 8, 27, 18, 14, 7, tzinfo=timezone.utc)),
    ("2020-08-27T18:14:07Z", datetime(2020, 8, 27, 18, 14, 7, tzinfo=timezone.utc)),
    ("2020-08-27T18:14:07", None), ("not a date", None), (None, None), (12, None),
])
def test_parse_time(value: object, expected: datetime | None) -> None:
    assert parse_time(value) == expected


def test_okta_time_has_milliseconds_and_z() -> None:
    assert okta_time(datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)) == "2024-01-02T03:04:05.678Z"
    assert okta_time(None) == "1970-01-01T00:00:00.000Z"


def test_ddl_holds_every_declared_column_and_generated_sql_runs(engine: sa.Engine) -> None:
    ensure_tenant_schema(engine, "acme")
    now = datetime.now(timezone.utc)
    with engine.connect() as conn, conn.begin():
        use_tenant_schema(conn, "acme")
        for ep in ENDPOINTS:
            cols = set(conn.execute(sa.text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'okta_acme' AND table_name = :t"), {"t": ep.table}).scalars())
            assert cols == {*ep.all_columns, "raw", "deleted_at", "synced_at"}, ep.table
            conn.exec_driver_sql(q.create_stage(ep))
            conn.execute(sa.text(q.upsert(ep)))
            if ep.child_of:
                binds = {c: "x" for c in ep.bound_columns}
                for since in (None, now):
                    conn.execute(sa.text(q.parents_to_read(ep)), {"stream": ep.stream, "reconcile_since": since})
                conn.execute(sa.text(q.remove_orphans(ep)))
                conn.execute(sa.text(q.remove_orphan_syncs(ep)), {"stream": ep.stream})
                for sql in q.remove_deleted_refs(ep):
                    conn.execute(sa.text(sql))
                conn.execute(sa.text(q.vanish(ep)), binds)
                conn.execute(sa.text(q.remove_children_of(ep)), binds)
                if q.mark_parent_gone(ep):
                    conn.execute(sa.text(q.mark_parent_gone(ep)), binds)
                conn.execute(sa.text(q.upsert_sync(ep)), {"stream": ep.stream, "parent_key": ["x"], **binds})
                if ep.child_of.refresh_events:
                    conn.execute(sa.text(q.mark_dirty_by_events(ep)), {
                        "stream": ep.stream, "since": now, "until": now,
                        **q.event_params(ep.child_of.refresh_events)})
            else:
                params = {"run_start": now, **({"slices": ["X"]} if ep.fan_out_column else {})}
                conn.execute(sa.text(q.sweep(ep)), params)
                if ep.delete_events:
                    conn.execute(sa.text(q.mark_deleted_by_events(ep)), {
                        "since": now, "until": now, **q.event_params(ep.delete_events)})


def test_event_patterns_escape_like_wildcards() -> None:
    params = q.event_params(BY_TABLE["app_users"].child_of.refresh_events)  # type: ignore[union-attr]
    assert params == {"patterns": ["application.user\\_membership.%", "group.application\\_assignment.%"],
                      "target_types": ["AppInstance"]}
    assert q.event_params(BY_TABLE["users"].delete_events)["patterns"] == [  # type: ignore[arg-type]
        "user.lifecycle.delete.completed"]


def test_apps_keep_their_oauth_client() -> None:
    # app.json: Okta's two own apps have no client; the OIDC app's client id is not its app id.
    ep = BY_TABLE["apps"]
    record = {r["name"]: r for r in _records(ep, orjson.loads((SAMPLES / "app.json").read_bytes()))}
    assert [record[n]["oauth_client_id"] for n in ("saasure", "okta_enduser")] == [None, None]
    assert (record["oidc_client"]["oauth_client_id"], record["oidc_client"]["oauth_application_type"]) == (
        "testclientid12345", "native")
