"""The sandbox behaves like Okta where the pipeline depends on it, over real HTTP."""

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from oktually_pipeline.sandbox import Faults, Sandbox, SandboxConfig

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(seed=7, tenants=5, users=150, events=3000, days=2, now=NOW, window_seconds=1)) as sandbox:
        yield sandbox


def get(sb: Sandbox, path: str, **params) -> httpx.Response:
    return httpx.get(f"{sb.url}{path}", params=params, headers={"Authorization": f"SSWS {sb.token}"})


def walk(sb: Sandbox, path: str, **params) -> list[dict]:
    items, url = [], f"{sb.url}{path}"
    response = httpx.get(url, params=params, headers={"Authorization": f"SSWS {sb.token}"})
    while True:
        assert response.status_code == 200, response.text
        items += response.json()
        nxt = response.links.get("next")
        if not nxt:
            return items
        response = httpx.get(nxt["url"], headers={"Authorization": f"SSWS {sb.token}"})


def test_same_seed_same_bytes() -> None:
    bodies = []
    for _ in range(2):
        with Sandbox(SandboxConfig(seed=9, tenants=4, users=40, events=500, days=1, now=NOW)) as sandbox:
            bodies.append((get(sandbox, "/api/v1/users", limit=200).content, get(sandbox, "/api/v1/logs", limit=1000, since="2026-11-19T00:00:00.000Z").content))
    assert bodies[0] == bodies[1]


def test_every_list_pages_each_object_exactly_once(sb: Sandbox) -> None:
    truth = sb.org.snapshot()
    users = walk(sb, "/api/v1/users", limit=7, filter='lastUpdated gt "2000-01-01T00:00:00.000Z"')
    assert sorted(u["id"] for u in users) == sorted(truth["users"])
    groups = walk(sb, "/api/v1/groups", limit=4)
    assert sorted(g["id"] for g in groups) == sorted(truth["groups"])
    apps = walk(sb, "/api/v1/apps", limit=2)
    assert sorted(a["id"] for a in apps) == sorted(truth["apps"])
    members = {(g, u["id"]) for g in truth["groups"] for u in walk(sb, f"/api/v1/groups/{g}/users", limit=9)}
    assert members == truth["group_members"]
    app_users = {(a, u["id"]) for a in truth["apps"] for u in walk(sb, f"/api/v1/apps/{a}/users", limit=5)}
    assert app_users == truth["app_users"]


def test_role_assignees_and_user_roles(sb: Sandbox) -> None:
    org = sb.org
    body = get(sb, "/api/v1/iam/assignees/users").json()
    # Enveloped, as Okta's OpenAPI describes it: no Link header, the next page inside the body.
    assert set(body) == {"value", "_links"} and body["_links"] == {}
    assignees = [a["id"] for a in body["value"]]
    assert len(assignees) == 4 and set(assignees) == set(org.user_roles)
    first = get(sb, "/api/v1/iam/assignees/users", limit=1)
    assert "link" not in first.headers
    assert first.json()["_links"]["next"]["href"].startswith(f"{sb.url}/api/v1/iam/assignees/users?")
    # A tenant admin's roles: the one assigned directly, then the one its ADMINS_ group holds.
    helper = next(u for u, rs in org.user_roles.items() if any(r["type"] == "HELP_DESK_ADMIN" for r in rs.values()))
    roles = get(sb, f"/api/v1/users/{helper}/roles").json()
    assert [(r["type"], r["assignmentType"]) for r in roles] == [("HELP_DESK_ADMIN", "USER"), ("USER_ADMIN", "GROUP")]
    role_id = roles[0]["id"]
    targets = get(sb, f"/api/v1/users/{helper}/roles/{role_id}/targets/groups").json()
    assert [t["profile"]["name"] for t in targets] == [f"USERS_{org.tenants[0].name}"]
    assert get(sb, f"/api/v1/users/{helper}/roles/{roles[1]['id']}/targets/groups").status_code == 404


def test_custom_roles_name_a_resource_set_whose_resources_page_in_an_envelope(sb: Sandbox) -> None:
    org = sb.org
    (holder, role), = [(u, r) for u, rs in org.user_roles.items() for r in rs.values() if r["type"] == "CUSTOM"]
    listed = next(r for r in get(sb, f"/api/v1/users/{holder}/roles").json() if r["type"] == "CUSTOM")
    assert listed == role and listed["assignmentType"] == "USER" and listed["role"].startswith("cr0")
    # As in Okta's examples, the assignment is a member of the set's binding for the role.
    assert listed["_links"]["member"]["href"] == (
        f"/api/v1/iam/resource-sets/{role['resource-set']}/bindings/{role['role']}/members/{role['id']}")
    body = get(sb, "/api/v1/iam/resource-sets").json()
    assert set(body) == {"resource-sets", "_links"} and body["_links"] == {}
    (resource_set,) = body["resource-sets"]
    assert resource_set["id"] == role["resource-set"] and resource_set["label"] == "tenant-support"
    path = f"/api/v1/iam/resource-sets/{resource_set['id']}/resources"
    first = get(sb, path, limit=2).json()
    assert "link" not in get(sb, path, limit=2).headers and len(first["resources"]) == 2
    rest = httpx.get(first["_links"]["next"]["href"], headers={"Authorization": f"SSWS {sb.token}"}).json()
    orns = [r["orn"] for r in first["resources"] + rest["resources"]]
    users = org.tenants[0].users
    assert orns == [org.orn("groups", users), org.orn("groups", users, "contained_resources"), org.orn("apps")]
    assert rest["_links"] == {}
    assert get(sb, "/api/v1/iam/resource-sets/iamNoSuchSet000000000/resources").status_code == 404
    roles = get(sb, "/api/v1/iam/roles").json()["roles"]
    assert [r["id"] for r in roles] == [role["role"]] and roles[0]["label"] == role["label"]
    permissions = get(sb, f"/api/v1/iam/roles/{role['role']}/permissions").json()
    assert [p["label"] for p in permissions["permissions"]] == ["okta.users.read", "okta.groups.read"]


def test_oauth_clients_list_their_admin_roles_by_client_id(sb: Sandbox) -> None:
    apps = get(sb, "/api/v1/apps", limit=200).json()
    clients = {a["id"]: a["credentials"]["oauthClient"]["client_id"] for a in apps if "credentials" in a}
    # OIDC products (client id = app id, as Okta makes them) and one API service app.
    assert {a["signOnMode"] for a in apps if a["id"] in clients} == {"OPENID_CONNECT"}
    (service,) = [a for a in apps if a.get("settings", {}).get("oauthClient", {}).get("application_type") == "service"]
    assert clients[service["id"]] != service["id"]
    client = f"/oauth2/v1/clients/{clients[service['id']]}/roles"
    roles = {r["type"]: r for r in get(sb, client).json()}
    assert sorted(roles) == ["GROUP_MEMBERSHIP_ADMIN", "READ_ONLY_ADMIN", "SUPER_ADMIN"]
    assert {r["assignmentType"] for r in roles.values()} == {"CLIENT"}
    scoped = roles["GROUP_MEMBERSHIP_ADMIN"]["id"]
    assert [g["id"] for g in get(sb, f"{client}/{scoped}/targets/groups").json()] == [sb.org.tenants[0].users]
    assert get(sb, f"{client}/{scoped}/targets/catalog/apps").json() == []
    assert get(sb, f"{client}/NOSUCHROLE/targets/groups").status_code == 404
    product = next(a for a in clients if a != service["id"])
    assert get(sb, f"/oauth2/v1/clients/{clients[product]}/roles").json() == []
    # By client id only: an app id that is not a client id is not found.
    assert get(sb, f"/oauth2/v1/clients/{service['id']}/roles").status_code == 404
    role = sb.org.assign_client_role(product, "APP_ADMIN", app_targets=[("box", None)])
    assert [r["type"] for r in get(sb, f"/oauth2/v1/clients/{clients[product]}/roles").json()] == ["APP_ADMIN"]
    (target,) = get(sb, f"/oauth2/v1/clients/{clients[product]}/roles/{role}/targets/catalog/apps").json()
    assert target["name"] == "box" and "id" not in target
    # A deleted app takes its client's roles along.
    sb.org.delete_app(product)
    assert get(sb, f"/oauth2/v1/clients/{clients[product]}/roles").status_code == 404


def test_app_admin_targets_list_catalog_apps_and_instances_page_by_page(sb: Sandbox) -> None:
    org = sb.org
    (admin, role), = [(u, r) for u, rs in org.user_roles.items() for r, role in rs.items() if role["type"] == "APP_ADMIN"]
    path = f"/api/v1/users/{admin}/roles/{role}/targets/catalog/apps"
    first = get(sb, path, limit=1)
    (instance,) = first.json()
    # An app instance carries its id; the OIN catalog app (every instance of it) has none.
    assert org.apps[instance["id"]]["label"] == instance["displayName"]
    assert instance["name"] == org.apps[instance["id"]]["name"]
    assert "after=" in first.links["next"]["url"]
    assert [(a["name"], "id" in a) for a in walk(sb, path, limit=1)] == [(instance["name"], True), ("salesforce", False)]
    # A group's APP_ADMIN role, and an unscoped role's empty list.
    group = org.tenants[0].users
    granted = org.assign_group_role(group, "APP_ADMIN", app_targets=[("box", None)])
    assert [a["name"] for a in get(sb, f"/api/v1/groups/{group}/roles/{granted}/targets/catalog/apps").json()] == ["box"]
    everything = org.assign_group_role(group, "APP_ADMIN")
    assert get(sb, f"/api/v1/groups/{group}/roles/{everything}/targets/catalog/apps").json() == []
    # Deleting the app drops the instance from the role's targets; the catalog target stays.
    org.delete_app(instance["id"])
    assert [a["name"] for a in get(sb, path).json()] == ["salesforce"]


def test_default_user_list_hides_deprovisioned_but_filters_include_them(sb: Sandbox) -> None:
    deprovisioned = {u for u, obj in sb.org.snapshot()["users"].items() if obj["status"] == "DEPROVISIONED"}
    assert deprovisioned
    plain = {u["id"] for u in walk(sb, "/api/v1/users")}
    filtered = {u["id"] for u in walk(sb, "/api/v1/users", search='lastUpdated gt "2000-01-01T00:00:00.000Z"')}
    assert not plain & deprovisioned and deprovisioned <= filtered


def test_last_updated_filters_see_mutations(sb: Sandbox) -> None:
    mark = sb.now_iso()
    user = sb.org.create_user(tenant=sb.org.tenants[0].name)
    group = sb.org.tenants[1].users
    sb.org.add_member(group, user["id"])
    changed_users = walk(sb, "/api/v1/users", search=f'lastUpdated gt "{mark}"')
    assert [u["id"] for u in changed_users] == [user["id"]]
    changed_groups = walk(sb, "/api/v1/groups", filter=f'lastUpdated gt "{mark}" or lastMembershipUpdated gt "{mark}"')
    everyone = next(g for g, obj in sb.org.groups.items() if obj["type"] == "BUILT_IN")
    assert {g["id"] for g in changed_groups} == {sb.org.tenants[0].users, group, everyone}



def test_a_user_is_found_by_id_or_by_login(sb: Sandbox) -> None:
    user_id, user = next(iter(sb.org.users.items()))
    assert get(sb, f"/api/v1/users/{user_id}").json()["id"] == user_id
    assert get(sb, f"/api/v1/users/{user['profile']['login']}").json()["id"] == user_id
    missing = get(sb, "/api/v1/users/nobody@example.invalid")
    assert missing.status_code == 404 and missing.json()["errorCode"] == "E0000007"


def test_a_list_read_page_by_page_sees_changes_made_between_its_pages(sb: Sandbox) -> None:
    # The sandbox keeps each query's ordered list between pages; a change must not be hidden by it.
    headers = {"Authorization": f"SSWS {sb.token}"}
    first = get(sb, "/api/v1/users", limit=5)
    seen = [u["id"] for u in first.json()]
    later = [u for u in sb.org.users if u not in seen and sb.org.users[u]["status"] != "DEPROVISIONED"]
    sb.org.deactivate_user(later[-1])
    created = sb.org.create_user(tenant=sb.org.tenants[0].name)
    response = httpx.get(first.links["next"]["url"], headers=headers)
    while True:
        seen += [u["id"] for u in response.json()]
        if "next" not in response.links:
            break
        response = httpx.get(response.links["next"]["url"], headers=headers)
    assert seen[-1] == created["id"] and later[-1] not in seen
    assert len(seen) == len(set(seen)) == len([u for u in sb.org.users.values() if u["status"] != "DEPROVISIONED"])

def test_okta_dac_shape_and_the_seeded_breaks(sb: Sandbox) -> None:
    org = sb.org.snapshot()
    names = {g["profile"]["name"] for g in org["groups"].values()}
    for tenant in org["tenants"]:
        assert f"ADMINS_{tenant.name}" in names and f"USERS_{tenant.name}" in names
        assert tenant.idp_id in org["idps"]
    assert "SUPERUSERS" in names
    kinds = [b.kind for b in sb.org.convention_breaks]
    assert sorted(kinds) == sorted({
        "idp_without_groups", "admins_group_bad_tenant_id", "appusers_unknown_app", "appusers_not_assigned",
        "admins_group_missing_role", "admins_role_target_outside_tenant", "user_in_multiple_tenants",
        "admin_not_tenant_user"})
    good = sb.org.tenants[4]
    description = json.loads(org["groups"][good.admins]["profile"]["description"])
    assert description == {"tenantId": good.idp_id}
    roles = get(sb, f"/api/v1/groups/{good.admins}/roles").json()
    assert [r["type"] for r in roles] == ["USER_ADMIN"]
    targets = {t["id"] for t in walk(sb, f"/api/v1/groups/{good.admins}/roles/{roles[0]['id']}/targets/groups")}
    assert {good.admins, good.users} <= targets


def test_polling_always_offers_next_and_late_events_follow_it(sb: Sandbox) -> None:
    first = get(sb, "/api/v1/logs", since="2026-11-18T00:00:00.000Z", limit=1000)
    url = first.links["next"]["url"]
    seen = len(first.json())
    while True:
        page = httpx.get(url, headers={"Authorization": f"SSWS {sb.token}"})
        seen += len(page.json())
        url = page.links["next"]["url"]  # present even on the empty tail
        if not page.json():
            break
    assert seen == 3000
    late = sb.events.append_late(3, lag=timedelta(hours=1))
    page = httpx.get(url, headers={"Authorization": f"SSWS {sb.token}"})
    body = page.json()
    assert [e["uuid"] for e in body] == late
    assert body[0]["published"] < sb.events.truth()[sorted(sb.events.truth(), key=sb.events.truth().get)[-1]]
    assert "next" in page.links


def test_bounded_queries_are_finite_and_in_published_order(sb: Sandbox) -> None:
    events = walk(sb, "/api/v1/logs", since="2026-11-19T00:00:00.000Z", until="2026-11-20T00:00:00.000Z", limit=333)
    published = [e["published"] for e in events]
    assert published == sorted(published)
    assert all("2026-11-19T00:00:00.000Z" <= p < "2026-11-20T00:00:00.000Z" for p in published)
    assert len({e["uuid"] for e in events}) == len(events) > 1000


def test_limits_and_bad_parameters(sb: Sandbox) -> None:
    assert len(get(sb, "/api/v1/logs", limit=5000, since="2026-11-18T00:00:00.000Z").json()) == 1000
    assert get(sb, "/api/v1/logs", since="2026-11-18", after="1_1").status_code == 400
    bad = get(sb, "/api/v1/users", filter='lastUpdated zz "x"')
    assert bad.status_code == 400 and bad.json()["errorCode"] == "E0000031"
    assert get(sb, "/api/v1/policies").json()["errorCode"] == "E0000001"
    assert get(sb, "/api/v1/users/00unope0000000000000").json()["errorCode"] == "E0000007"


def test_401_with_okta_body_and_non_get_refused_and_counted(sb: Sandbox) -> None:
    response = httpx.get(f"{sb.url}/api/v1/users", headers={"Authorization": "SSWS wrong"})
    assert response.status_code == 401 and response.json()["errorCode"] == "E0000011"
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert httpx.request(method, f"{sb.url}/api/v1/users", headers={"Authorization": f"SSWS {sb.token}"}).status_code == 405
    assert sb.stats.non_get == 4


def test_rate_limit_headers_429_and_recovery(sb: Sandbox) -> None:
    sb.rate_limits.set("/api/v1/groups", 3)
    time.sleep(1 - time.time() % 1)  # start at a fresh window
    statuses, headers = [], []
    for _ in range(5):
        response = get(sb, "/api/v1/groups")
        statuses.append(response.status_code)
        headers.append(response.headers)
    assert statuses == [200, 200, 200, 429, 429]
    assert [h["x-rate-limit-remaining"] for h in headers] == ["2", "1", "0", "0", "0"]
    assert all(int(h["x-rate-limit-reset"]) >= int(time.time()) for h in headers)
    assert headers[3].get("retry-after") is None
    time.sleep(int(headers[3]["x-rate-limit-reset"]) - time.time() + 0.05)
    assert get(sb, "/api/v1/groups").status_code == 200
    assert sb.stats.requests_429 == 2


@pytest.mark.parametrize(
    "faults, check",
    [
        (Faults(error_rate=1.0), lambda r: r.status_code in (500, 502, 503, 504)),
        (Faults(storm_429=1), lambda r: r.status_code == 429),
        (Faults(malformed_rate=1.0), lambda r: _not_json(r.content)),
        (Faults(invalid_utf8_rate=1.0), lambda r: _not_utf8(r.content)),
        (Faults(always_broken=frozenset({"/api/v1/logs"})), lambda r: _not_json(r.content)),
        (Faults(missing_fields_rate=1.0), lambda r: any(not {"uuid", "published", "eventType"} <= set(e) for e in r.json())),
        (Faults(huge_string_rate=1.0), lambda r: max(len(e["displayMessage"] or "") for e in r.json()) >= 1_000_000),
    ],
)
def test_each_fault_is_observable(sb: Sandbox, faults: Faults, check) -> None:
    sb.faults = faults
    assert check(get(sb, "/api/v1/logs", since="2026-11-19T00:00:00.000Z", limit=50))


def test_truncated_and_dropped_responses_break_the_transfer(sb: Sandbox) -> None:
    sb.faults = Faults(truncate_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        get(sb, "/api/v1/logs", since="2026-11-19T00:00:00.000Z", limit=50)
    sb.faults = Faults(drop_connection_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        get(sb, "/api/v1/users")


def test_slow_responses_are_slow(sb: Sandbox) -> None:
    sb.faults = Faults(slow_rate=1.0, slow_seconds=0.3)
    started = time.monotonic()
    assert get(sb, "/api/v1/users").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_a_million_events_page_without_trouble() -> None:
    with Sandbox(SandboxConfig(seed=1, tenants=4, users=100, events=1_000_000, days=30, now=NOW)) as sandbox:
        started = time.monotonic()
        url = f"{sandbox.url}/api/v1/logs?since=2026-10-01T00:00:00.000Z&limit=1000"
        pages = 0
        with httpx.Client(headers={"Authorization": f"SSWS {sandbox.token}"}) as client:
            while pages < 40:
                response = client.get(url)
                assert len(response.json()) == 1000
                url = response.links["next"]["url"]
                pages += 1
        elapsed = time.monotonic() - started
        print(f"sandbox served {pages * 1000} of 1,000,000 events at {pages * 1000 / elapsed:,.0f} events/s")
        assert sandbox.events.total() == 1_000_000


def _not_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return True
    return False


def _not_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False
