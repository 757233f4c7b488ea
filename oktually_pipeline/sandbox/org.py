"""The sandbox's Okta org: an okta-dac multi-tenant SaaS, generated from a seed, mutable by tests.

Each customer tenant is one IdP (its id is the tenant id), an `ADMINS_<name>` group whose
description holds `{"tenantId": "<idp id>"}`, a `USERS_<name>` group, and an
`APPUSERS_<name>_<appId>` group per entitled product app, assigned to that app. `ADMINS_<name>`
holds the Group Administrator role (`USER_ADMIN`) targeting its own tenant's groups. Provider
staff are in `SUPERUSERS`; the first of them holds SUPER_ADMIN assigned directly, the second an
APP_ADMIN limited to one product app and to every Salesforce instance (an OIN catalog target), the
third a custom role bound to a resource set, and the first tenant's first admin also a directly
assigned HELP_DESK_ADMIN on its `USERS_` group. The OIDC product apps are OAuth clients (client id =
app id), and one API service app, "Provisioning sync" (a client id of its own), holds SUPER_ADMIN,
READ_ONLY_ADMIN and a GROUP_MEMBERSHIP_ADMIN over the first tenant's `USERS_` group, assigned to
its client.
With four or more tenants the generator also seeds one of each convention break
(`convention_breaks`), the known truth the derived models are tested against:

| kind | objects |
|---|---|
| `idp_without_groups` | (idp id,) |
| `admins_group_bad_tenant_id` | (ADMINS_ group id, idp id of its tenant) |
| `appusers_unknown_app` | (APPUSERS_ group id, the app id its name gives) |
| `appusers_not_assigned` | (APPUSERS_ group id, app id) |
| `admins_group_missing_role` | (ADMINS_ group id,) |
| `admins_role_target_outside_tenant` | (ADMINS_ group id, targeted group id) |
| `user_in_multiple_tenants` | (user id,) |
| `admin_not_tenant_user` | (user id, ADMINS_ group id) |
"""

from __future__ import annotations

import base64
import copy
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oktually_pipeline.sandbox.clock import Clock, iso_ms, okta_id

DAY_MS = 86_400_000
TENANT_NAMES = ("spidermonkey", "acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne",
                "tyrell", "cyberdyne", "soylent", "wonka", "gringotts", "oscorp", "vandelay", "monarch")
FIRST = ("Ada", "Alan", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Edsger",
         "Radia", "Donald", "Katherine", "John", "Hedy", "Tim", "Sophie", "Niklaus", "Leslie", "Guido")
LAST = ("Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie",
        "Allen", "Dijkstra", "Perlman", "Knuth", "Johnson", "McCarthy", "Lamarr", "Berners-Lee",
        "Wilson", "Wirth", "Lamport", "Rossum")
PRODUCTS = (("Analytics", "oidc_client"), ("Billing", "oidc_client"), ("Helpdesk", "saml_app"),
            ("Reports", "oidc_client"), ("Storage", "saml_app"))
STATUS_MIX = (("ACTIVE", 80), ("STAGED", 4), ("SUSPENDED", 4), ("LOCKED_OUT", 3),
              ("PASSWORD_EXPIRED", 3), ("DEPROVISIONED", 6))
POLICY_TYPES = ("OKTA_SIGN_ON", "PASSWORD", "MFA_ENROLL", "ACCESS_POLICY")
ROLE_LABELS = {"SUPER_ADMIN": "Super Administrator", "ORG_ADMIN": "Organization Administrator",
               "USER_ADMIN": "Group Administrator", "HELP_DESK_ADMIN": "Help Desk Administrator",
               "GROUP_MEMBERSHIP_ADMIN": "Group Membership Administrator",
               "READ_ONLY_ADMIN": "Read Only Administrator", "APP_ADMIN": "Application Administrator"}
# OIN catalog apps the sandbox's APP_ADMIN roles may target as a whole (every instance).
CATALOG = {"salesforce": {"displayName": "Salesforce.com", "category": "CRM", "signOnModes": ["SAML_2_0", "BOOKMARK"]},
           "box": {"displayName": "Box", "category": "CONTENT_MANAGEMENT", "signOnModes": ["SAML_2_0"]}}
CATALOG_UPDATED = "2024-09-19T23:37:37.000Z"
# An APP_ADMIN target: (catalog app name, app instance id, or None for every instance of the app).
AppTarget = tuple[str, str | None]
# Per kind of role holder (Okta's assignmentType): the Org attributes holding its roles, and their
# group and app targets.
_ROLE_STORES = {"GROUP": ("group_roles", "role_targets", "role_app_targets"),
                "USER": ("user_roles", "user_role_targets", "user_role_app_targets"),
                "CLIENT": ("client_roles", "client_role_targets", "client_role_app_targets")}
RULE_TYPE = {"OKTA_SIGN_ON": "SIGN_ON", "PASSWORD": "PASSWORD", "MFA_ENROLL": "MFA_ENROLL",
             "ACCESS_POLICY": "ACCESS_POLICY"}


@dataclass(frozen=True)
class ConventionBreak:
    """One seeded break of the okta-dac convention; see the module docstring for `objects`."""

    kind: str
    objects: tuple[str, ...]


@dataclass
class Tenant:
    name: str
    idp_id: str
    admins: str | None = None
    users: str | None = None


class Org:
    """State objects as Okta would list them, plus the mutations tests make between runs."""

    def __init__(self, *, seed: int, tenants: int, users: int, now_ms: int, clock: Clock,
                 emit: Callable[..., None] | None = None) -> None:
        self.seed, self.clock, self._emit = seed, clock, emit or (lambda *a, **k: None)
        self.lock = threading.RLock()
        self.users: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.members: dict[str, dict[str, int]] = {}  # group id -> user id -> added at (ms)
        self.apps: dict[str, dict[str, Any]] = {}
        self.app_direct: dict[str, dict[str, int]] = {}  # app id -> user id -> assigned at
        self.app_groups: dict[str, dict[str, int]] = {}  # app id -> group id -> assigned at
        self.idps: dict[str, dict[str, Any]] = {}
        self.policies: dict[str, dict[str, Any]] = {}
        self.rules: dict[str, list[dict[str, Any]]] = {}
        self.group_roles: dict[str, dict[str, dict[str, Any]]] = {}
        self.role_targets: dict[tuple[str, str], list[str]] = {}
        # APP_ADMIN targets: (catalog app name, app instance id or None for every instance).
        self.role_app_targets: dict[tuple[str, str], list[AppTarget]] = {}
        # Roles assigned to users directly: user id -> role id -> role; their group and app targets.
        self.user_roles: dict[str, dict[str, dict[str, Any]]] = {}
        self.user_role_targets: dict[tuple[str, str], list[str]] = {}
        self.user_role_app_targets: dict[tuple[str, str], list[AppTarget]] = {}
        # The scopes of CUSTOM role assignments: resource set id -> set, and its resources.
        self.resource_sets: dict[str, dict[str, Any]] = {}
        self.resource_set_resources: dict[str, list[dict[str, Any]]] = {}
        # Custom roles: id -> role, and the permission objects each grants.
        self.custom_roles: dict[str, dict[str, Any]] = {}
        self.custom_role_permissions: dict[str, list[dict[str, Any]]] = {}
        # Roles assigned to OAuth service apps: client id -> role id -> role; their group and app targets.
        self.client_roles: dict[str, dict[str, dict[str, Any]]] = {}
        self.client_role_targets: dict[tuple[str, str], list[str]] = {}
        self.client_role_app_targets: dict[tuple[str, str], list[AppTarget]] = {}
        self.seq: dict[str, int] = {}
        # Bumped by every mutation: the API's cached list views are valid for one revision.
        self.revision = 0
        self.tenants: list[Tenant] = []
        self.convention_breaks: list[ConventionBreak] = []
        self._rng = random.Random(seed)
        self._counter = 0
        _generate(self, tenants, users, now_ms)

    # -- generation helpers -------------------------------------------------------------------

    def _next_id(self, prefix: str) -> str:
        self._counter += 1
        new = okta_id(prefix, self.seed, self._counter)
        self.seq[new] = self._counter
        return new

    def _put_user(self, user_id: str, login: str, first: str, last: str, status: str, created: int,
                  updated: int, last_login: int | None) -> dict[str, Any]:
        user = {
            "id": user_id, "status": status, "created": iso_ms(created),
            "activated": iso_ms(created + 60_000) if status != "STAGED" else None,
            "statusChanged": iso_ms(updated), "lastLogin": iso_ms(last_login) if last_login else None,
            "lastUpdated": iso_ms(updated), "passwordChanged": iso_ms(created + 120_000),
            "type": {"id": "oty1abcdefghijklmnop"},
            "profile": {"firstName": first, "lastName": last, "mobilePhone": None, "secondEmail": None,
                        "login": login, "email": login},
            "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
            "_links": {"self": {"href": f"/api/v1/users/{user_id}"}},
        }
        self.users[user_id] = user
        return user

    def _put_group(self, group_id: str, name: str, description: str, ts: int, kind: str = "OKTA_GROUP") -> str:
        self.groups[group_id] = {
            "id": group_id, "created": iso_ms(ts), "lastUpdated": iso_ms(ts),
            "lastMembershipUpdated": iso_ms(ts), "objectClass": ["okta:user_group"], "type": kind,
            "profile": {"name": name, "description": description},
            "_links": {"users": {"href": f"/api/v1/groups/{group_id}/users"}},
        }
        self.members.setdefault(group_id, {})
        return group_id

    def _put_role(self, assignment: str, holder: str, role_id: str, role_type: str, ts: int, assignee: str,
                  targets: list[str] | None, app_targets: list[AppTarget] | None) -> str:
        """A standard role held by a group, a user or a client (`assignment`), with its targets."""
        # By attribute name: delete_group rebinds the target stores.
        roles, group_targets, app_targets_of = (getattr(self, name) for name in _ROLE_STORES[assignment])
        roles.setdefault(holder, {})[role_id] = _role(role_id, role_type, ts, assignment, assignee)
        group_targets[(holder, role_id)] = list(targets or [])
        app_targets_of[(holder, role_id)] = list(app_targets or [])
        return role_id

    def _add_role(self, group_id: str, ts: int, targets: list[str], role_type: str = "USER_ADMIN",
                  app_targets: list[AppTarget] | None = None) -> str:
        return self._put_role("GROUP", group_id, self._next_id("irb"), role_type, ts, f"/api/v1/groups/{group_id}",
                              targets, app_targets)

    def _add_user_role(self, user_id: str, role_type: str, ts: int, targets: list[str],
                       app_targets: list[AppTarget] | None = None) -> str:
        return self._put_role("USER", user_id, _base32_id(role_type), role_type, ts, f"/api/v1/users/{user_id}",
                              targets, app_targets)

    def _put_custom_role(self, label: str, description: str, ts: int, permissions: list[str]) -> str:
        role_id = self._next_id("cr0")
        self.custom_roles[role_id] = {
            "id": role_id, "label": label, "description": description, "created": iso_ms(ts),
            "lastUpdated": iso_ms(ts), "_links": {
                "permissions": {"href": f"/api/v1/iam/roles/{role_id}/permissions"},
                "self": {"href": f"/api/v1/iam/roles/{role_id}"}}}
        self.custom_role_permissions[role_id] = [self._permission(role_id, p, ts) for p in permissions]
        return role_id

    @staticmethod
    def _permission(role_id: str, label: str, ts: int) -> dict[str, Any]:
        return {"label": label, "created": iso_ms(ts), "lastUpdated": iso_ms(ts), "_links": {
            "role": {"href": f"/api/v1/iam/roles/{role_id}"},
            "self": {"href": f"/api/v1/iam/roles/{role_id}/permissions/{label}"}}}

    def _add_client_role(self, client_id: str, role_type: str, ts: int, targets: list[str] | None = None,
                         app_targets: list[AppTarget] | None = None) -> str:
        return self._put_role("CLIENT", client_id, _base32_id(role_type), role_type, ts,
                              f"/oauth2/v1/clients/{client_id}/roles", targets, app_targets)

    def clients(self) -> dict[str, str]:
        """The OAuth clients: client id -> the app that is the client."""
        return {client: a for a, app in self.apps.items() if (client := _client_id(app))}

    def _add_custom_role(self, user_id: str, custom_role: str, resource_set_id: str, ts: int) -> str:
        """A custom role bound to a resource set, assigned to a user: its own assignment id, with
        the custom role (`role`), the set (`resource-set`) and the binding member it is, as Okta
        lists it."""
        role_id = self._next_id("irb")
        label = self.custom_roles[custom_role]["label"]
        role = _role(role_id, "CUSTOM", ts, "USER", f"/api/v1/users/{user_id}", label=label)
        role.update({"resource-set": resource_set_id, "role": custom_role})
        role["_links"].update({"role": {"href": f"/api/v1/iam/roles/{custom_role}"},
                               "resource-set": {"href": f"/api/v1/iam/resource-sets/{resource_set_id}"},
                               "member": {"href": f"/api/v1/iam/resource-sets/{resource_set_id}/bindings/"
                                                  f"{custom_role}/members/{role_id}"}})
        self.user_roles.setdefault(user_id, {})[role_id] = role
        return role_id

    # -- reads ---------------------------------------------------------------------------------

    def app_users(self, app_id: str) -> list[dict[str, Any]]:
        """Direct assignments (scope USER) and those through assigned groups (scope GROUP)."""
        with self.lock:
            entries: dict[str, tuple[str, int]] = {}
            for group_id, assigned in self.app_groups.get(app_id, {}).items():
                for user_id, added in self.members.get(group_id, {}).items():
                    user = self.users.get(user_id)
                    if user and user["status"] != "DEPROVISIONED":
                        stamp = max(assigned, added)
                        if user_id not in entries or stamp > entries[user_id][1]:
                            entries[user_id] = ("GROUP", stamp)
            for user_id, stamp in self.app_direct.get(app_id, {}).items():
                if user_id in self.users:
                    entries[user_id] = ("USER", stamp)
            return [self._app_user(app_id, uid, scope, stamp)
                    for uid, (scope, stamp) in sorted(entries.items(), key=lambda e: self.seq.get(e[0], 0))]

    def _app_user(self, app_id: str, user_id: str, scope: str, stamp: int) -> dict[str, Any]:
        user = self.users[user_id]
        return {
            "id": user_id, "externalId": None, "created": iso_ms(stamp), "lastUpdated": iso_ms(stamp),
            "scope": scope, "status": "PROVISIONED" if scope == "USER" else "ACTIVE",
            "statusChanged": iso_ms(stamp), "syncState": "DISABLED",
            "credentials": {"userName": user["profile"]["login"]}, "profile": {},
            "_links": {"app": {"href": f"/api/v1/apps/{app_id}"}, "user": {"href": f"/api/v1/users/{user_id}"}},
        }

    def roles_of_user(self, user_id: str) -> list[dict[str, Any]]:
        """As `/api/v1/users/{id}/roles` lists them: direct roles, then those held through groups."""
        with self.lock:
            roles = list(self.user_roles.get(user_id, {}).values())
            for group_id, held in self.group_roles.items():
                if user_id in self.members.get(group_id, {}):
                    roles.extend(held.values())
            return roles

    def role_assignees(self) -> list[dict[str, Any]]:
        """As `/api/v1/iam/assignees/users` lists them: users with a directly assigned role."""
        with self.lock:
            return [{"id": u, "orn": self.orn("users", u),
                     "_links": {"self": {"href": f"/api/v1/users/{u}"},
                                "roles": {"href": f"/api/v1/users/{u}/roles"}}}
                    for u, roles in self.user_roles.items() if roles and u in self.users]

    def app_group_objects(self, app_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [{"id": gid, "lastUpdated": iso_ms(ts), "priority": i, "profile": {},
                     "_links": {"group": {"href": f"/api/v1/groups/{gid}"}}}
                    for i, (gid, ts) in enumerate(self.app_groups.get(app_id, {}).items())]

    def orn(self, *parts: str) -> str:
        """An Okta Resource Name in this org, as Okta's reference gives them:
        `orn:okta:directory:<org>:users|groups...` and `orn:okta:idp:<org>:apps...`."""
        service = "idp" if parts and parts[0] == "apps" else "directory"
        return ":".join(("orn", "okta", service, str(self.seed), *parts))

    def _add_resource_set(self, label: str, description: str, ts: int, orns: list[str]) -> str:
        set_id = self._next_id("iam")
        self.resource_sets[set_id] = {
            "id": set_id, "label": label, "description": description, "created": iso_ms(ts),
            "lastUpdated": iso_ms(ts), "_links": {
                "self": {"href": f"/api/v1/iam/resource-sets/{set_id}"},
                "resources": {"href": f"/api/v1/iam/resource-sets/{set_id}/resources"},
                "bindings": {"href": f"/api/v1/iam/resource-sets/{set_id}/bindings"}}}
        self.resource_set_resources[set_id] = []
        for orn in orns:
            self._add_resource(set_id, orn, ts)
        return set_id

    def _add_resource(self, set_id: str, orn: str, ts: int) -> str:
        resource_id = self._next_id("ire")
        self.resource_set_resources[set_id].append({
            "id": resource_id, "orn": orn, "created": iso_ms(ts), "lastUpdated": iso_ms(ts),
            "_links": {"resource": {"href": f"/api/v1/iam/resource-sets/{set_id}/resources/{resource_id}"}}})
        return resource_id

    def catalog_apps(self, targets: list[AppTarget]) -> list[dict[str, Any]]:
        """A role's app targets as Okta lists them: CatalogApplication objects, with `id` for an
        app instance and without it for every instance of a catalog app."""
        out = []
        for name, app_id in targets:
            app = self.apps.get(app_id) if app_id else None
            if app_id and app is None:
                continue
            name = app["name"] if app else name
            entry = CATALOG.get(name, {"displayName": name, "category": "CUSTOM", "signOnModes": []})
            obj: dict[str, Any] = {
                "name": name, "displayName": app["label"] if app else entry["displayName"],
                "description": None, "category": entry["category"], "status": "ACTIVE",
                "verificationStatus": "OKTA_VERIFIED" if name in CATALOG else "UNVERIFIED",
                "signOnModes": [app["signOnMode"]] if app else list(entry["signOnModes"]), "features": [],
                "website": None, "lastUpdated": app["lastUpdated"] if app else CATALOG_UPDATED,
                "_links": {"logo": [{"name": "medium", "href": f"/assets/img/logos/{name}.png", "type": "image/png"}],
                           "self": {"href": f"/api/v1/catalog/apps/{name}"}},
            }
            if app:
                obj["id"] = app_id
            out.append(obj)
        return out

    def snapshot(self) -> dict[str, Any]:
        """What every list endpoint returns right now (users include DEPROVISIONED)."""
        with self.lock:
            app_of = self.clients()
            return {
                "users": copy.deepcopy(self.users),
                "groups": copy.deepcopy(self.groups),
                "group_members": {(g, u) for g, ms in self.members.items() for u in ms},
                "apps": copy.deepcopy(self.apps),
                "app_users": {(a, u["id"]) for a in self.apps for u in self.app_users(a)},
                "app_user_scopes": {(a, u["id"]): u["scope"] for a in self.apps for u in self.app_users(a)},
                "app_groups": {(a, g) for a, gs in self.app_groups.items() for g in gs},
                "idps": copy.deepcopy(self.idps),
                "policies": copy.deepcopy(self.policies),
                "policy_rules": {r["id"]: copy.deepcopy(r) for rs in self.rules.values() for r in rs},
                "group_roles": {(g, r) for g, rs in self.group_roles.items() for r in rs},
                "group_role_targets": {(g, r, t) for (g, r), ts in self.role_targets.items() for t in ts},
                "group_role_app_targets": {(g, r, a or n) for (g, r), ts in self.role_app_targets.items()
                                           for n, a in ts},
                "role_assigned_users": {a["id"]: a for a in self.role_assignees()},
                "user_roles": {(u, r) for u, rs in self.user_roles.items() for r in rs},
                "user_role_types": {(u, r): role["type"] for u, rs in self.user_roles.items()
                                    for r, role in rs.items()},
                "user_role_targets": {(u, r, t) for (u, r), ts in self.user_role_targets.items() for t in ts},
                "user_role_app_targets": {(u, r, a or n) for (u, r), ts in self.user_role_app_targets.items()
                                          for n, a in ts},
                "resource_sets": copy.deepcopy(self.resource_sets),
                "resource_set_resources": {(s, r["id"]) for s, rs in self.resource_set_resources.items() for r in rs},
                "resource_set_orns": {(s, r["orn"]) for s, rs in self.resource_set_resources.items() for r in rs},
                "resource_orn_of": {(s, r["id"]): r["orn"] for s, rs in self.resource_set_resources.items()
                                    for r in rs},
                "custom_roles": copy.deepcopy(self.custom_roles),
                "custom_role_permissions": {(r, p["label"]) for r, ps in self.custom_role_permissions.items()
                                            for p in ps},
                "app_clients": {a: c for c, a in app_of.items()},
                "client_roles": {(app_of[c], r) for c, rs in self.client_roles.items() for r in rs if c in app_of},
                "client_role_types": {(app_of[c], r): role["type"] for c, rs in self.client_roles.items()
                                      for r, role in rs.items() if c in app_of},
                "client_role_targets": {(app_of[c], r, t) for (c, r), ts in self.client_role_targets.items()
                                        for t in ts if c in app_of},
                "client_role_app_targets": {(app_of[c], r, a or n)
                                            for (c, r), ts in self.client_role_app_targets.items()
                                            for n, a in ts if c in app_of},
                "tenants": [Tenant(t.name, t.idp_id, t.admins, t.users) for t in self.tenants],
            }

    # -- mutations (each stamps lastUpdated and writes the System Log event Okta would) ---------

    def _tick(self) -> int:
        self.revision += 1
        return self.clock.tick()

    def _touch_group(self, group_id: str, ts: int, membership: bool = False) -> None:
        group = self.groups[group_id]
        if membership:
            group["lastMembershipUpdated"] = iso_ms(ts)
        else:
            group["lastUpdated"] = iso_ms(ts)

    def create_user(self, tenant: str | None = None, status: str = "ACTIVE") -> dict[str, Any]:
        with self.lock:
            ts = self._tick()
            user_id = self._next_id("00u")
            n = self._counter
            first, last = FIRST[n % len(FIRST)], LAST[(n // 7) % len(LAST)]
            user = self._put_user(user_id, f"{first.lower()}.{last.lower()}{n}@example.com", first, last,
                                  status, ts, ts, None)
            everyone = next(g for g, obj in self.groups.items() if obj["type"] == "BUILT_IN")
            self.members[everyone][user_id] = ts
            self._touch_group(everyone, ts, membership=True)
            if tenant is not None:
                target = next(t for t in self.tenants if t.name == tenant or t.idp_id == tenant)
                if target.users:
                    self.members[target.users][user_id] = ts
                    self._touch_group(target.users, ts, membership=True)
            self._emit("user.lifecycle.create", target=("User", user_id, user["profile"]["login"]))
            return copy.deepcopy(user)

    def update_user(self, user_id: str, **profile: Any) -> dict[str, Any]:
        with self.lock:
            user = self.users[user_id]
            user["profile"].update(profile)
            user["lastUpdated"] = iso_ms(self._tick())
            self._emit("user.account.update_profile", target=("User", user_id, user["profile"]["login"]))
            return copy.deepcopy(user)

    def deactivate_user(self, user_id: str) -> None:
        with self.lock:
            user = self.users[user_id]
            ts = self._tick()
            user.update(status="DEPROVISIONED", statusChanged=iso_ms(ts), lastUpdated=iso_ms(ts))
            for assigned in self.app_direct.values():
                assigned.pop(user_id, None)
            self._emit("user.lifecycle.deactivate", target=("User", user_id, user["profile"]["login"]))

    def delete_user(self, user_id: str) -> None:
        """Permanent deletion (Okta requires deactivation first): gone from every list."""
        with self.lock:
            user = self.users[user_id]
            if user["status"] != "DEPROVISIONED":
                raise ValueError(f"user {user_id} must be deactivated before deletion")
            ts = self._tick()
            del self.users[user_id]
            for group_id, members in self.members.items():
                if members.pop(user_id, None) is not None:
                    self._touch_group(group_id, ts, membership=True)
            for assigned in self.app_direct.values():
                assigned.pop(user_id, None)
            for role_id in self.user_roles.pop(user_id, {}):
                self.user_role_targets.pop((user_id, role_id), None)
                self.user_role_app_targets.pop((user_id, role_id), None)
            self._emit("user.lifecycle.delete.completed", target=("User", user_id, f"{user_id}@deleted.invalid"))

    def add_member(self, group_id: str, user_id: str) -> None:
        with self.lock:
            if user_id not in self.users:
                raise KeyError(user_id)
            ts = self._tick()
            self.members[group_id][user_id] = ts
            self._touch_group(group_id, ts, membership=True)
            self._emit("group.user_membership.add", target=("User", user_id, self.users[user_id]["profile"]["login"]),
                       target2=("UserGroup", group_id, self.groups[group_id]["profile"]["name"]))

    def remove_member(self, group_id: str, user_id: str) -> None:
        with self.lock:
            ts = self._tick()
            del self.members[group_id][user_id]
            self._touch_group(group_id, ts, membership=True)
            self._emit("group.user_membership.remove", target=("User", user_id, self.users[user_id]["profile"]["login"]),
                       target2=("UserGroup", group_id, self.groups[group_id]["profile"]["name"]))

    def create_group(self, name: str, description: str = "") -> dict[str, Any]:
        with self.lock:
            ts = self._tick()
            group_id = self._put_group(self._next_id("00g"), name, description, ts)
            self._emit("group.lifecycle.create", target=("UserGroup", group_id, name))
            return copy.deepcopy(self.groups[group_id])

    def update_group(self, group_id: str, **profile: Any) -> None:
        with self.lock:
            self.groups[group_id]["profile"].update(profile)
            self._touch_group(group_id, self._tick())
            self._emit("group.profile.update", target=("UserGroup", group_id, self.groups[group_id]["profile"]["name"]))

    def delete_group(self, group_id: str) -> None:
        with self.lock:
            self._tick()
            name = self.groups.pop(group_id)["profile"]["name"]
            self.members.pop(group_id, None)
            self.group_roles.pop(group_id, None)
            self.role_targets = {k: [t for t in v if t != group_id]
                                 for k, v in self.role_targets.items() if k[0] != group_id}
            self.role_app_targets = {k: v for k, v in self.role_app_targets.items() if k[0] != group_id}
            self.user_role_targets = {k: [t for t in v if t != group_id] for k, v in self.user_role_targets.items()}
            self.client_role_targets = {k: [t for t in v if t != group_id]
                                        for k, v in self.client_role_targets.items()}
            for assigned in self.app_groups.values():
                assigned.pop(group_id, None)
            self._emit("group.lifecycle.delete", target=("UserGroup", group_id, name))

    def assign_user_role(self, user_id: str, role_type: str, targets: list[str] | tuple[str, ...] = (),
                         app_targets: list[AppTarget] | tuple[AppTarget, ...] = ()) -> str:
        """Assign a standard admin role to a user directly; returns the role assignment id.
        `targets` are groups (scopable roles), `app_targets` (catalog name, app id or None) apps
        (APP_ADMIN)."""
        with self.lock:
            login = self.users[user_id]["profile"]["login"]
            role_id = self._add_user_role(user_id, role_type, self._tick(), list(targets), list(app_targets))
            self._emit("user.account.privilege.grant", target=("User", user_id, login))
            return role_id

    def revoke_user_role(self, user_id: str, role_id: str) -> None:
        with self.lock:
            self._tick()
            del self.user_roles[user_id][role_id]
            self.user_role_targets.pop((user_id, role_id), None)
            self.user_role_app_targets.pop((user_id, role_id), None)
            self._emit("user.account.privilege.revoke", target=("User", user_id, self.users[user_id]["profile"]["login"]))

    def assign_group_role(self, group_id: str, role_type: str, targets: list[str] | tuple[str, ...] = (),
                          app_targets: list[AppTarget] | tuple[AppTarget, ...] = ()) -> str:
        """Assign a standard admin role to a group; returns the role assignment id."""
        with self.lock:
            role_id = self._add_role(group_id, self._tick(), list(targets), role_type, list(app_targets))
            self._emit("group.privilege.grant", target=("UserGroup", group_id, self.groups[group_id]["profile"]["name"]))
            return role_id

    def set_role_app_targets(self, assignee_id: str, role_id: str, app_targets: list[AppTarget]) -> None:
        """Replace an APP_ADMIN role's app targets, as an admin editing the role does: Okta writes
        no event that names the assignee, so only a reconciliation notices."""
        with self.lock:
            self._tick()
            store = self.role_app_targets if assignee_id in self.group_roles else self.user_role_app_targets
            if (assignee_id, role_id) not in store:
                raise KeyError((assignee_id, role_id))
            store[(assignee_id, role_id)] = list(app_targets)

    def add_resource(self, set_id: str, orn: str) -> str:
        """Add a resource to a resource set; the set's lastUpdated moves. Returns the resource id."""
        with self.lock:
            ts = self._tick()
            self.resource_sets[set_id]["lastUpdated"] = iso_ms(ts)
            return self._add_resource(set_id, orn, ts)

    def remove_resource(self, set_id: str, resource_id: str) -> None:
        with self.lock:
            ts = self._tick()
            self.resource_sets[set_id]["lastUpdated"] = iso_ms(ts)
            self.resource_set_resources[set_id] = [r for r in self.resource_set_resources[set_id]
                                                   if r["id"] != resource_id]

    def grant_permission(self, custom_role: str, label: str) -> None:
        """Add a permission to a custom role; the role's lastUpdated moves."""
        with self.lock:
            ts = self._tick()
            self.custom_roles[custom_role]["lastUpdated"] = iso_ms(ts)
            self.custom_role_permissions[custom_role].append(self._permission(custom_role, label, ts))

    def assign_app_user(self, app_id: str, user_id: str) -> None:
        with self.lock:
            ts = self._tick()
            self.app_direct.setdefault(app_id, {})[user_id] = ts
            self._emit("application.user_membership.add", target=("User", user_id, self.users[user_id]["profile"]["login"]),
                       target2=("AppInstance", app_id, self.apps[app_id]["label"]))

    def unassign_app_user(self, app_id: str, user_id: str) -> None:
        with self.lock:
            self._tick()
            del self.app_direct[app_id][user_id]
            self._emit("application.user_membership.remove", target=("User", user_id, self.users[user_id]["profile"]["login"]),
                       target2=("AppInstance", app_id, self.apps[app_id]["label"]))

    def assign_app_group(self, app_id: str, group_id: str) -> None:
        with self.lock:
            ts = self._tick()
            self.app_groups.setdefault(app_id, {})[group_id] = ts
            self._emit("group.application_assignment.add", target=("AppInstance", app_id, self.apps[app_id]["label"]),
                       target2=("UserGroup", group_id, self.groups[group_id]["profile"]["name"]))

    def unassign_app_group(self, app_id: str, group_id: str) -> None:
        with self.lock:
            self._tick()
            del self.app_groups[app_id][group_id]
            self._emit("group.application_assignment.remove", target=("AppInstance", app_id, self.apps[app_id]["label"]),
                       target2=("UserGroup", group_id, self.groups[group_id]["profile"]["name"]))

    def delete_app(self, app_id: str) -> None:
        with self.lock:
            self._tick()
            app = self.apps.pop(app_id)
            label = app["label"]
            self.app_direct.pop(app_id, None)
            self.app_groups.pop(app_id, None)
            # Okta drops a deleted instance from APP_ADMIN targets; catalog-wide targets stay.
            for store in (self.role_app_targets, self.user_role_app_targets, self.client_role_app_targets):
                for key, targets in store.items():
                    store[key] = [t for t in targets if t[1] != app_id]
            client_id = _client_id(app)
            for role_id in self.client_roles.pop(client_id, {}):
                self.client_role_targets.pop((client_id, role_id), None)
                self.client_role_app_targets.pop((client_id, role_id), None)
            self._emit("application.lifecycle.delete", target=("AppInstance", app_id, label))

    def assign_client_role(self, app_id: str, role_type: str, targets: list[str] | tuple[str, ...] = (),
                           app_targets: list[AppTarget] | tuple[AppTarget, ...] = ()) -> str:
        """Assign a standard admin role to an app's OAuth client, with group `targets` or
        `app_targets` as for users; returns the assignment id. The app's `lastUpdated` does not move
        and the sandbox writes no event: which event Okta writes, if any, is not in our recordings,
        so only a reconciliation (or a change to the app) tells."""
        with self.lock:
            client_id = _client_id(self.apps[app_id])
            if client_id is None:
                raise KeyError(f"{app_id} is not an OAuth client")
            return self._add_client_role(client_id, role_type, self._tick(), list(targets), list(app_targets))


def _generate(org: Org, n_tenants: int, n_users: int, now_ms: int) -> None:
    rng = org._rng
    base = now_ms - 400 * DAY_MS

    def when(lo_days: float, hi_days: float) -> int:
        return now_ms - int(rng.uniform(lo_days, hi_days) * DAY_MS)

    # Okta's own apps and the provider's products.
    for name, label in (("saasure", "Okta Admin Console"), ("okta_enduser", "Okta Dashboard")):
        app_id = org._next_id("0oa")
        org.apps[app_id] = _app(app_id, name, label, "OPENID_CONNECT", base)
    products = []
    for label, kind in PRODUCTS:
        app_id = org._next_id("0oa")
        mode = "OPENID_CONNECT" if kind == "oidc_client" else "SAML_2_0"
        org.apps[app_id] = _app(app_id, kind, label, mode, when(30, 300))
        if kind == "oidc_client":
            _oauth_client(org.apps[app_id], app_id, "web", ["authorization_code"])
        products.append(app_id)

    everyone = org._put_group(org._next_id("00g"), "Everyone", "All users in your organization", base, "BUILT_IN")
    superusers = org._put_group(org._next_id("00g"), "SUPERUSERS", "Provider super admins", base)

    for i in range(n_tenants):
        name = TENANT_NAMES[i % len(TENANT_NAMES)] + ("" if i < len(TENANT_NAMES) else str(i // len(TENANT_NAMES)))
        idp_id = org._next_id("0oa")
        created = when(60, 380)
        org.idps[idp_id] = {
            "id": idp_id, "type": "SAML2", "name": name, "status": "INACTIVE" if i % 3 == 2 else "ACTIVE",
            "created": iso_ms(created), "lastUpdated": iso_ms(created + DAY_MS),
            "protocol": {"type": "SAML2"}, "policy": {"provisioning": {"action": "AUTO"}},
            "_links": {},
        }
        tenant = Tenant(name, idp_id)
        tenant.admins = org._put_group(org._next_id("00g"), f"ADMINS_{name}", json.dumps({"tenantId": idp_id}), created)
        tenant.users = org._put_group(org._next_id("00g"), f"USERS_{name}", f"Users of tenant {name}", created)
        org.tenants.append(tenant)
        entitled = [p for j, p in enumerate(products) if (i + j) % 2 == 0] or products[:1]
        targets = [tenant.admins, tenant.users]
        for app_id in entitled:
            gid = org._put_group(org._next_id("00g"), f"APPUSERS_{name}_{app_id}", f"{name} users of {org.apps[app_id]['label']}", created)
            org.app_groups.setdefault(app_id, {})[gid] = created
            targets.append(gid)
        org._add_role(tenant.admins, created, targets)

    statuses = [s for s, w in STATUS_MIX for _ in range(w)]
    tenant_users: dict[str, list[str]] = {t.name: [] for t in org.tenants}
    for n in range(n_users):
        user_id = org._next_id("00u")
        first, last = FIRST[n % len(FIRST)], LAST[(n * 7 + 3) % len(LAST)]
        status = "ACTIVE" if n < 2 * max(1, n_tenants) else rng.choice(statuses)
        created = when(20, 390)
        updated = max(created, when(0.05, 19))
        last_login = when(0.01, 200) if status not in {"STAGED", "DEPROVISIONED"} and rng.random() < 0.9 else None
        org._put_user(user_id, f"{first.lower()}.{last.lower()}{n}@example.com", first, last, status,
                      created, updated, last_login)
        org.members[everyone][user_id] = created
        if n_tenants and n >= 3:
            tenant = org.tenants[n % n_tenants]
            org.members[tenant.users][user_id] = created
            tenant_users[tenant.name].append(user_id)
        elif n < 3:
            org.members[superusers][user_id] = created
    for tenant in org.tenants:
        members = tenant_users[tenant.name]
        for user_id in members[:2]:
            org.members[tenant.admins][user_id] = base + DAY_MS
        appgroups = [g for g in org.groups if org.groups[g]["profile"]["name"].startswith(f"APPUSERS_{tenant.name}_")]
        for k, user_id in enumerate(members):
            if appgroups and k % 2 == 0:
                org.members[appgroups[k % len(appgroups)]][user_id] = base + 2 * DAY_MS
    # A few direct assignments, as admins make by hand (some on users since deprovisioned).
    user_ids = list(org.users)
    for k, user_id in enumerate(user_ids[3::11]):
        org.app_direct.setdefault(products[k % len(products)], {})[user_id] = base + 3 * DAY_MS

    for ptype in POLICY_TYPES:
        for p in range(2 if ptype != "PASSWORD" else 1):
            pid = org._next_id("00p")
            ts = when(10, 300)
            org.policies[pid] = {
                "id": pid, "status": "ACTIVE", "name": "Default Policy" if p == 0 else f"{ptype.title()} {p}",
                "description": None, "priority": p + 1, "system": p == 0, "conditions": None,
                "created": iso_ms(ts), "lastUpdated": iso_ms(ts), "type": ptype, "_links": {},
            }
            org.rules[pid] = [{
                "id": org._next_id("0pr"), "status": "ACTIVE", "name": f"Rule {r + 1}", "priority": r + 1,
                "created": iso_ms(ts), "lastUpdated": iso_ms(ts), "system": r == 0, "conditions": {},
                "actions": {}, "type": RULE_TYPE[ptype], "_links": {},
            } for r in range(1 + p)]

    if n_tenants >= 4:
        _seed_breaks(org, products, now_ms)
    _seed_direct_roles(org, now_ms)
    for group_id, members in org.members.items():
        if members:
            org.groups[group_id]["lastMembershipUpdated"] = iso_ms(max(members.values()))


def _role(role_id: str, role_type: str, ts: int, assignment: str, assignee: str,
          label: str | None = None) -> dict[str, Any]:
    return {"id": role_id, "label": label or ROLE_LABELS[role_type], "type": role_type, "status": "ACTIVE",
            "created": iso_ms(ts), "lastUpdated": iso_ms(ts), "assignmentType": assignment,
            "_links": {"assignee": {"href": assignee}}}


def _seed_direct_roles(org: Org, now_ms: int) -> None:
    """Roles assigned to users by hand: the first provider staff member is a super admin, the
    second administers one product app and every Salesforce instance (APP_ADMIN), the third holds a
    custom role (reading users and groups) over the `tenant-support` resource set (the first
    tenant's USERS_ group, its members, and every app), and the first tenant's first admin also
    helps its users directly (a help desk role on USERS_). Last, an API service app whose OAuth
    client holds admin roles of its own."""
    ts = now_ms - 30 * DAY_MS
    superusers = next((g for g, v in org.groups.items() if v["profile"]["name"] == "SUPERUSERS"), None)
    staff = sorted(org.members.get(superusers, {}), key=org.seq.__getitem__) if superusers else []
    if staff:
        org._add_user_role(staff[0], "SUPER_ADMIN", ts, [])
    product = next((a for a, app in org.apps.items() if app["name"] not in {"saasure", "okta_enduser"}), None)
    if len(staff) > 1 and product:
        org._add_user_role(staff[1], "APP_ADMIN", ts, [],
                           [(org.apps[product]["name"], product), ("salesforce", None)])
    if len(staff) > 2 and org.tenants and org.tenants[0].users:
        users = org.tenants[0].users
        support = org._add_resource_set(
            "tenant-support", f"Support for tenant {org.tenants[0].name}", ts,
            [org.orn("groups", users), org.orn("groups", users, "contained_resources"), org.orn("apps")])
        viewer = org._put_custom_role("tenant-support-viewer", "Read a tenant's users and groups", ts,
                                      ["okta.users.read", "okta.groups.read"])
        org._add_custom_role(staff[2], viewer, support, ts)
    if org.tenants and org.tenants[0].admins and org.tenants[0].users:
        admins = sorted(org.members[org.tenants[0].admins], key=org.seq.__getitem__)
        if admins:
            org._add_user_role(admins[0], "HELP_DESK_ADMIN", ts, [org.tenants[0].users])
    # An API service app the provider's provisioning runs as, holding admin roles of its own. Its
    # client id is not its app id (Okta's own example has one such client).
    service = org._next_id("0oa")
    org.apps[service] = _app(service, "oidc_client", "Provisioning sync", "OPENID_CONNECT", ts)
    client_id = org._next_id("0oa")
    _oauth_client(org.apps[service], client_id, "service", ["client_credentials"])
    org._add_client_role(client_id, "SUPER_ADMIN", ts)
    org._add_client_role(client_id, "READ_ONLY_ADMIN", ts)
    if org.tenants and org.tenants[0].users:
        org._add_client_role(client_id, "GROUP_MEMBERSHIP_ADMIN", ts, [org.tenants[0].users])


def _base32_id(role_type: str) -> str:
    """The id of a standard role assigned to a user or a client: the Base32 of its type, as older
    Okta user assignments and Okta's example of a client's role have it (the same id on every
    holder of that role)."""
    return base64.b32encode(role_type.encode()).decode().rstrip("=")


def _client_id(app: dict[str, Any]) -> str | None:
    return (app.get("credentials") or {}).get("oauthClient", {}).get("client_id")


def _oauth_client(app: dict[str, Any], client_id: str, application_type: str, grant_types: list[str]) -> None:
    """Make `app` an OAuth client, as Okta shows one (`credentials.oauthClient`, `settings.oauthClient`)."""
    app["credentials"] = {"userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
                          "oauthClient": {"autoKeyRotation": True, "client_id": client_id,
                                          "token_endpoint_auth_method": "private_key_jwt"}}
    app["settings"]["oauthClient"] = {"application_type": application_type, "grant_types": grant_types,
                                      "response_types": ["token"] if application_type == "service" else ["code"]}


def _app(app_id: str, name: str, label: str, mode: str, ts: int) -> dict[str, Any]:
    return {
        "id": app_id, "name": name, "label": label, "status": "ACTIVE", "created": iso_ms(ts),
        "lastUpdated": iso_ms(ts), "signOnMode": mode, "features": [], "accessibility": {"selfService": False},
        "visibility": {"autoSubmitToolbar": False, "hide": {"iOS": False, "web": False}},
        "settings": {"app": {}}, "_links": {"users": {"href": f"/api/v1/apps/{app_id}/users"}},
    }


def _seed_breaks(org: Org, products: list[str], now_ms: int) -> None:
    t0, t1, t2, t3 = org.tenants[:4]
    ts = now_ms - 5 * DAY_MS
    add = org.convention_breaks.append

    orphan = org._next_id("0oa")
    org.idps[orphan] = {"id": orphan, "type": "SAML2", "name": "orphan-tenant", "status": "ACTIVE",
                        "created": iso_ms(ts), "lastUpdated": iso_ms(ts), "protocol": {"type": "SAML2"}, "_links": {}}
    add(ConventionBreak("idp_without_groups", (orphan,)))

    org.groups[t0.admins]["profile"]["description"] = json.dumps({"tenantId": okta_id("0oa", "wrong", org.seed)})
    add(ConventionBreak("admins_group_bad_tenant_id", (t0.admins, t0.idp_id)))

    ghost_app = okta_id("0oa", "no-such-app", org.seed)
    ghost = org._put_group(org._next_id("00g"), f"APPUSERS_{t1.name}_{ghost_app}", "an app long gone", ts)
    first_role = next(iter(org.group_roles[t1.admins]))
    org.role_targets[(t1.admins, first_role)].append(ghost)
    add(ConventionBreak("appusers_unknown_app", (ghost, ghost_app)))

    unassigned_app = next(p for p in products if not any(
        org.groups[g]["profile"]["name"] == f"APPUSERS_{t2.name}_{p}" for g in org.groups))
    loose = org._put_group(org._next_id("00g"), f"APPUSERS_{t2.name}_{unassigned_app}", "never assigned", ts)
    first_role2 = next(iter(org.group_roles[t2.admins]))
    org.role_targets[(t2.admins, first_role2)].append(loose)
    add(ConventionBreak("appusers_not_assigned", (loose, unassigned_app)))

    for role_id in list(org.group_roles.pop(t3.admins)):
        org.role_targets.pop((t3.admins, role_id), None)
        org.role_app_targets.pop((t3.admins, role_id), None)
    add(ConventionBreak("admins_group_missing_role", (t3.admins,)))

    org.role_targets[(t1.admins, first_role)].append(t2.users)
    add(ConventionBreak("admins_role_target_outside_tenant", (t1.admins, t2.users)))

    t0_members = [u for u in org.members[t0.users] if u not in org.members[t0.admins]]
    wanderer = t0_members[-1]
    org.members[t1.users][wanderer] = ts
    add(ConventionBreak("user_in_multiple_tenants", (wanderer,)))

    t2_members = [u for u in org.members[t2.users] if u not in org.members[t2.admins] and u != wanderer]
    intruder = t2_members[-1]
    org.members[t3.admins][intruder] = ts
    add(ConventionBreak("admin_not_tenant_user", (intruder, t3.admins)))
