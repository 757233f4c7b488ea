"""What each model must hold for a sandbox org, computed in Python from the sandbox's own truth.

Independent of the SQL: it reads the sandbox's objects (`org.snapshot()`, `org.tenants`, the
seeded `convention_breaks`, the System Log bodies), never the warehouse.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from oktually_pipeline.sandbox import Sandbox

ACTIVE = {"ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT", "RECOVERY"}
PRIVILEGE_EVENTS = {"user.account.privilege.grant", "user.account.privilege.revoke",
                    "group.privilege.grant", "group.privilege.revoke"}


def ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _tenant_id_in(description: str | None) -> str | None:
    try:
        value = json.loads(description or "")
    except ValueError:
        return None
    return value.get("tenantId") if isinstance(value, dict) else None


class Truth:
    def __init__(self, sb: Sandbox, as_of: datetime, dormant_days: int = 90, admin_days: int = 90) -> None:
        self.snap = snap = sb.org.snapshot()
        self.as_of, self.dormant_days, self.admin_days = as_of, dormant_days, admin_days
        self.users, self.groups, self.apps, self.idps = snap["users"], snap["groups"], snap["apps"], snap["idps"]
        self.members: dict[str, set[str]] = defaultdict(set)
        for g, u in snap["group_members"]:
            self.members[g].add(u)
        self.by_idp = {t.idp_id: t for t in snap["tenants"]}
        self.role_types = {(g, r): role["type"] for g, rs in sb.org.group_roles.items() for r, role in rs.items()}
        # Every role assignment by (assignee, role): a custom one names its role and resource set.
        self.assignments = {(a, r): role for held in (sb.org.group_roles, sb.org.user_roles)
                            for a, rs in held.items() for r, role in rs.items()}
        self.breaks = {(b.kind, tuple(b.objects)) for b in sb.org.convention_breaks}
        visible = sb.events.truth()
        self.events = [e for e in (sb.events.event(p) for p in range(sb.events.total())) if e["uuid"] in visible]

    def convention_issues(self) -> set[tuple]:
        return self.breaks

    def _status(self, user_id: str) -> str:
        return self.users[user_id]["status"]

    def tenant_of_user(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for t in self.by_idp.values():
            for u in self.members[t.users] if t.users else ():
                out[u].add(t.idp_id)
        return out

    def appusers(self) -> dict[str, tuple[str, str]]:
        """APPUSERS_<tenant>_<appId> group id -> (tenant name, app id)."""
        out = {}
        for gid, g in self.groups.items():
            name = g["profile"]["name"]
            if name.startswith("APPUSERS_"):
                tenant, _, app = name.removeprefix("APPUSERS_").rpartition("_")
                out[gid] = (tenant, app)
        return out

    # -- tenancy --------------------------------------------------------------------------------

    def tenants(self) -> set[tuple]:
        rows = set()
        entitled: dict[str, set[str]] = defaultdict(set)
        for tenant, app in self.appusers().values():
            if app in self.apps:
                entitled[tenant].add(app)
        for idp_id, idp in self.idps.items():
            t = self.by_idp.get(idp_id)
            admins, users = (t.admins, t.users) if t else (None, None)
            described = _tenant_id_in(self.groups[admins]["profile"]["description"]) if admins else None
            rows.add((idp_id, idp["name"], idp["status"], admins, users, described, described == idp_id,
                      len(self.members[admins]) if admins else 0, len(self.members[users]) if users else 0,
                      len(entitled[idp["name"]])))
        return rows

    def tenant_users(self) -> set[tuple]:
        return {(t.idp_id, u, u in self.members[t.admins]) for t in self.by_idp.values() for u in self.members[t.users]}

    def tenant_admins(self) -> set[tuple]:
        return {(t.idp_id, u, u in self.members[t.users]) for t in self.by_idp.values() for u in self.members[t.admins]}

    def tenant_app_entitlements(self) -> set[tuple]:
        idp_by_name = {i["name"]: i["id"] for i in self.idps.values()}
        return {(gid, idp_by_name.get(tenant), app, app in self.apps, (app, gid) in self.snap["app_groups"],
                 tuple(sorted(self.members[gid])))
                for gid, (tenant, app) in self.appusers().items()}

    def superusers(self) -> set[tuple]:
        return {(u,) for gid, g in self.groups.items() if g["profile"]["name"] == "SUPERUSERS" for u in self.members[gid]}

    # -- access ---------------------------------------------------------------------------------

    def user_app_access(self) -> set[tuple]:
        scopes = self.snap["app_user_scopes"]
        paths = {(u, a, "direct", None) for (a, u), scope in scopes.items() if scope == "USER"}
        paths |= {(u, a, "group", g) for a, g in self.snap["app_groups"] for u in self.members[g]}
        return {p for p in paths if self._status(p[0]) != "DEPROVISIONED"}

    def okta_app_assignments(self) -> set[tuple[str, str]]:
        """(user, app) as Okta's own /apps/{id}/users lists them, for users not deactivated."""
        return {(u, a) for a, u in self.snap["app_users"] if self._status(u) != "DEPROVISIONED"}

    def resource_set_scope(self) -> set[tuple]:
        """(set, resource, kind, group id, app id), from each ORN read the way Okta's reference writes them."""
        rows = set()
        for (set_id, resource_id), orn in self.snap["resource_orn_of"].items():
            _, _, service, _, *path = orn.split(":")
            kind, group, app = "other", None, None
            if service == "directory" and path in (["users"], ["groups"]):
                kind = f"all_{path[0]}"
            elif service == "directory" and path[0] == "groups" and len(path) in (2, 3):
                kind, group = ("group" if len(path) == 2 else "group_members"), path[1]
            elif service == "idp" and path[0] == "apps" and len(path) <= 3:
                kind = ("all_apps", "app_type", "app")[len(path) - 1]
                app = path[2] if len(path) == 3 else None
            rows.add((set_id, resource_id, kind, group, app))
        return rows

    def service_app_admins(self) -> set[tuple]:
        client = self.snap["app_clients"]
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for a, r, t in self.snap["client_role_targets"]:
            if t in self.groups:
                groups[a, r].append(t)
        app_ids: dict[tuple[str, str], list[str]] = defaultdict(list)
        catalog: dict[tuple[str, str], list[str]] = defaultdict(list)
        for a, r, t in self.snap["client_role_app_targets"]:
            (app_ids if t in self.apps else catalog)[a, r].append(t)
        return {(a, client[a], r, self.snap["client_role_types"][a, r], tuple(sorted(groups[a, r])),
                 tuple(sorted(app_ids[a, r])), tuple(sorted(catalog[a, r])))
                for a, r in self.snap["client_roles"]}

    def admin_role_holders(self) -> set[tuple]:
        targets: dict[tuple[str, str], list[str]] = defaultdict(list)
        for g, r, t in self.snap["group_role_targets"]:
            if t in self.groups:
                targets[g, r].append(t)
        for u, r, t in self.snap["user_role_targets"]:
            if t in self.groups:
                targets[u, r].append(t)
        # An app target is an app instance of the org, or else an OIN catalog app's name.
        app_ids: dict[tuple[str, str], list[str]] = defaultdict(list)
        catalog: dict[tuple[str, str], list[str]] = defaultdict(list)
        for table in ("group_role_app_targets", "user_role_app_targets"):
            for a, r, t in self.snap[table]:
                (app_ids if t in self.apps else catalog)[a, r].append(t)

        orns: dict[str, list[str]] = defaultdict(list)
        for set_id, orn in self.snap["resource_set_orns"]:
            orns[set_id].append(orn)

        permissions: dict[str, list[str]] = defaultdict(list)
        for custom_role, permission in self.snap["custom_role_permissions"]:
            permissions[custom_role].append(permission)

        def over(assignee: str, role: str) -> tuple[Any, ...]:
            assignment = self.assignments[assignee, role]
            resource_set, custom_role = assignment.get("resource-set"), assignment.get("role")
            return (*(tuple(sorted(d[assignee, role])) for d in (targets, app_ids, catalog)),
                    tuple(sorted(permissions[custom_role])) if custom_role else (),
                    resource_set, tuple(sorted(orns[resource_set])) if resource_set else ())

        held = {(u, g, r, self.role_types[g, r], *over(g, r))
                for g, r in self.snap["group_roles"] for u in self.members[g]}
        held |= {(u, None, r, self.snap["user_role_types"][u, r], *over(u, r))
                 for u, r in self.snap["user_roles"]}
        return {h for h in held if self._status(h[0]) != "DEPROVISIONED"}

    def deprovisioned_with_access(self) -> set[tuple]:
        gone = {u for u, user in self.users.items() if user["status"] == "DEPROVISIONED"}
        rows = {(u, "group_membership", g) for g, us in self.members.items() for u in us & gone
                if self.groups[g]["type"] != "BUILT_IN"}
        return rows | {(u, "app_assignment", a) for a, u in self.snap["app_users"] if u in gone}

    # -- activity -------------------------------------------------------------------------------

    def signin_daily(self) -> set[tuple]:
        tenants = self.tenant_of_user()
        days: dict[tuple, dict[str, Any]] = defaultdict(lambda: {
            "sign_ins": 0, "failed_sign_ins": 0, "failures_by_reason": defaultdict(int), "users": set(),
            "mfa_verifications": 0, "mfa_failures": 0, "mfa_users": set()})
        for e in self.events:
            kind = e["eventType"]
            if kind not in ("user.session.start", "user.authentication.auth_via_mfa"):
                continue
            result = (e["outcome"] or {}).get("result")
            reason = (e["outcome"] or {}).get("reason") or result or "UNKNOWN"
            actor = e["actor"]["id"]
            for tenant in tenants.get(actor) or {None}:
                d = days[ts(e["published"]).date(), tenant]
                failed = result in ("FAILURE", "DENY")
                if kind == "user.session.start":
                    d["sign_ins"] += result == "SUCCESS"
                    d["failed_sign_ins"] += failed
                    if failed:
                        d["failures_by_reason"][reason] += 1
                    if result == "SUCCESS":
                        d["users"].add(actor)
                else:
                    d["mfa_verifications"] += result == "SUCCESS"
                    d["mfa_failures"] += failed
                    if result == "SUCCESS":
                        d["mfa_users"].add(actor)
        return {(day, tenant, d["sign_ins"], d["failed_sign_ins"], tuple(sorted(d["failures_by_reason"].items())),
                 len(d["users"]), d["mfa_verifications"], d["mfa_failures"], len(d["mfa_users"]))
                for (day, tenant), d in days.items()}

    def dormant_users(self) -> set[tuple]:
        last_event: dict[str, datetime] = {}
        for e in self.events:
            if e["eventType"] == "user.session.start" and (e["outcome"] or {}).get("result") == "SUCCESS":
                at = ts(e["published"])
                last_event[e["actor"]["id"]] = max(at, last_event.get(e["actor"]["id"], at))
        cutoff = self.as_of - timedelta(days=self.dormant_days)
        dormant: set[tuple] = set()
        for uid, u in self.users.items():
            if u["status"] not in ACTIVE:
                continue
            seen = [t for t in (ts(u["lastLogin"]), last_event.get(uid)) if t]
            reference = max(seen) if seen else ts(u["activated"]) or ts(u["created"])
            if reference < cutoff:
                dormant.add((uid,))
        return dormant

    def recent_admin_changes(self) -> set[tuple]:
        since = self.as_of - timedelta(days=self.admin_days)
        rows = set()
        for e in self.events:
            if e["eventType"] in PRIVILEGE_EVENTS and since <= ts(e["published"]) <= self.as_of:
                target = next((t for t in e["target"] or () if t["type"] in ("User", "UserGroup")), None)
                rows.add((e["uuid"], "grant" if e["eventType"].endswith(".grant") else "revoke",
                          target["id"] if target else None))
        return rows


# Per model: the columns compared, in the order the Truth method returns them.
COMPARED: dict[str, str] = {
    "tenants": "tenant_id, tenant_name, idp_status, admins_group_id, users_group_id, admins_group_tenant_id, "
               "admins_group_tenant_id_ok, admin_count, user_count, entitled_app_count",
    "tenant_users": "tenant_id, user_id, is_admin",
    "tenant_admins": "tenant_id, user_id, is_tenant_user",
    "tenant_app_entitlements": "group_id, tenant_id, app_id, app_exists, assigned_to_app, user_ids",
    "superusers": "user_id",
    "convention_issues": "kind, object_ids",
    "user_app_access": "user_id, app_id, via, group_id",
    "admin_role_holders": "user_id, group_id, role_id, role_type, target_group_ids, target_app_ids, "
                          "target_catalog_apps, permissions, resource_set_id, resource_orns",
    "resource_set_scope": "resource_set_id, resource_id, kind, group_id, app_id",
    "service_app_admins": "app_id, client_id, role_id, role_type, target_group_ids, target_app_ids, "
                          "target_catalog_apps",
    "signin_daily": "day, tenant_id, sign_ins, failed_sign_ins, failures_by_reason, distinct_users, "
                    "mfa_verifications, mfa_failures, mfa_users",
    "dormant_users": "user_id",
    "deprovisioned_with_access": "user_id, access, object_id",
    "recent_admin_changes": "uuid, change, target_id",
}


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    return value


def model_rows(query: Any, model: str) -> set[tuple]:
    """The model's compared columns as a set of tuples (arrays and JSON objects made hashable)."""
    rows = query(f"SELECT {COMPARED[model]} FROM {model}")
    out = {tuple(_plain(v) for v in r) for r in rows}
    assert len(out) == len(rows), f"{model} has duplicate rows"
    return out


def expected_rows(truth: Truth, model: str) -> set[tuple]:
    return getattr(truth, model)()
