"""What each sandbox route returns: a page of objects and the query of the next page (or None)."""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from oktually_pipeline.sandbox.server import (
    ApiError,
    compile_filter,
    parse_limit,
    parse_time_param,
)

if TYPE_CHECKING:
    from oktually_pipeline.sandbox import Sandbox

Page = tuple[list[Any], dict[str, str] | None]
_USER_ATTRS = {"id", "status", "lastUpdated", "created", "type.id", "profile.login", "profile.email",
               "profile.firstName", "profile.lastName"}
_GROUP_ATTRS = {"id", "type", "lastUpdated", "lastMembershipUpdated", "profile.name", "created"}
_APP_ATTRS = {"id", "status", "name", "lastUpdated"}
DEFAULT_LOOKBACK_MS = 7 * 86_400_000
_LISTINGS_KEPT = 64


class Api:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.org = sandbox.org
        self._listings: OrderedDict[tuple[Any, ...], tuple[int, list[dict[str, Any]], list[int]]] = OrderedDict()

    # -- paging -------------------------------------------------------------------------------

    def _page(self, route: str, query: dict[str, str], build: Callable[[], Iterable[dict[str, Any]]],
              *scope: str) -> Page:
        """One page of a list, in creation order, resuming after the object named by `after`."""
        limit = parse_limit(query, route)
        ordered, seqs = self._listing(route, scope, query, build)
        after = query.get("after")
        start = bisect.bisect_right(seqs, self.org.seq.get(after, -1) if after else -1)
        page = ordered[start:start + limit]
        if start + limit < len(ordered):
            return page, {**{k: v for k, v in query.items() if k != "after"}, "after": page[-1]["id"], "limit": str(limit)}
        return page, None

    def _listing(self, route: str, scope: tuple[str, ...], query: dict[str, str],
                 build: Callable[[], Iterable[dict[str, Any]]]) -> tuple[list[dict[str, Any]], list[int]]:
        # A paged read asks for the same filtered, ordered list once a page; building it each time
        # made the sandbox, not the pipeline, the cost of a 100,000-user load (500 pages x 100,000
        # filter evaluations). Kept per query until the org changes.
        key = (route, scope, tuple(sorted((k, v) for k, v in query.items() if k not in {"after", "limit"})))
        cached = self._listings.get(key)
        if cached is not None and cached[0] == self.org.revision:
            self._listings.move_to_end(key)
            return cached[1], cached[2]
        seq = self.org.seq
        ordered = sorted(build(), key=lambda o: seq.get(o["id"], 0))
        seqs = [seq.get(o["id"], 0) for o in ordered]
        self._listings[key] = (self.org.revision, ordered, seqs)
        if len(self._listings) > _LISTINGS_KEPT:
            self._listings.popitem(last=False)
        return ordered, seqs

    def _get(self, table: dict[str, Any], object_id: str, what: str) -> dict[str, Any]:
        if object_id not in table:
            raise ApiError(404, f"Not found: Resource not found: {object_id} ({what})")
        return table[object_id]

    def _held_role(self, assignees: dict[str, Any], roles: dict[str, dict[str, Any]], assignee_id: str,
                   role_id: str, what: str) -> None:
        """404, as Okta answers, unless the assignee exists and holds the role."""
        self._get(assignees, assignee_id, what)
        self._get(roles.get(assignee_id, {}), role_id, "Role")

    # -- users and groups ---------------------------------------------------------------------

    def users(self, query: dict[str, str]) -> Page:
        def build() -> list[dict[str, Any]]:
            users = list(self.org.users.values())
            expr = query.get("filter") or query.get("search")
            if expr:
                predicate = compile_filter(expr, _USER_ATTRS if "filter" in query else None)
                users = [u for u in users if predicate(u)]
            else:
                # Okta's default list (and q=) leaves deprovisioned users out.
                users = [u for u in users if u["status"] != "DEPROVISIONED"]
            if q := query.get("q"):
                users = [u for u in users if any(str(u["profile"].get(f, "")).lower().startswith(q.lower())
                                                 for f in ("login", "email", "firstName", "lastName"))]
            return users

        with self.org.lock:
            return self._page("users", query, build)

    def user(self, query: dict[str, str], user_id: str) -> Page:
        with self.org.lock:
            user = self.org.users.get(user_id)
            if user is None:  # Okta also finds a user by login
                user = self._get({u["profile"]["login"]: u for u in self.org.users.values()}, user_id, "User")
            return user, None  # type: ignore[return-value]

    def groups(self, query: dict[str, str]) -> Page:
        def build() -> list[dict[str, Any]]:
            groups = list(self.org.groups.values())
            expr = query.get("filter") or query.get("search")
            if expr:
                predicate = compile_filter(expr, _GROUP_ATTRS if "filter" in query else None)
                groups = [g for g in groups if predicate(g)]
            if q := query.get("q"):
                groups = [g for g in groups if g["profile"]["name"].lower().startswith(q.lower())]
            return groups

        with self.org.lock:
            return self._page("groups", query, build)

    def group(self, query: dict[str, str], group_id: str) -> Page:
        with self.org.lock:
            return self._get(self.org.groups, group_id, "UserGroup"), None  # type: ignore[return-value]

    def group_users(self, query: dict[str, str], group_id: str) -> Page:
        with self.org.lock:
            self._get(self.org.groups, group_id, "UserGroup")
            return self._page("group_users", query, lambda: [
                self.org.users[u] for u in self.org.members.get(group_id, {}) if u in self.org.users], group_id)

    def group_roles(self, query: dict[str, str], group_id: str) -> Page:
        with self.org.lock:
            self._get(self.org.groups, group_id, "UserGroup")
            return list(self.org.group_roles.get(group_id, {}).values()), None

    def role_targets(self, query: dict[str, str], group_id: str, role_id: str) -> Page:
        with self.org.lock:
            self._held_role(self.org.groups, self.org.group_roles, group_id, role_id, "UserGroup")
            return self._targets(self.org.role_targets.get((group_id, role_id), []), query, group_id, role_id)

    def role_assignees(self, query: dict[str, str]) -> Page:
        with self.org.lock:
            return self._page("role_assignees", query, self.org.role_assignees)

    def user_roles(self, query: dict[str, str], user_id: str) -> Page:
        with self.org.lock:
            self._get(self.org.users, user_id, "User")
            return self.org.roles_of_user(user_id), None

    def client_roles(self, query: dict[str, str], client_id: str) -> Page:
        with self.org.lock:
            self._get(self.org.clients(), client_id, "OAuth2Client")
            return list(self.org.client_roles.get(client_id, {}).values()), None

    def client_role_targets(self, query: dict[str, str], client_id: str, role_id: str) -> Page:
        with self.org.lock:
            self._held_role(self.org.clients(), self.org.client_roles, client_id, role_id, "OAuth2Client")
            return self._targets(self.org.client_role_targets.get((client_id, role_id), []), query, client_id, role_id)

    def client_role_app_targets(self, query: dict[str, str], client_id: str, role_id: str) -> Page:
        with self.org.lock:
            self._held_role(self.org.clients(), self.org.client_roles, client_id, role_id, "OAuth2Client")
            return self._app_targets(self.org.client_role_app_targets.get((client_id, role_id), []), query)

    def user_role_targets(self, query: dict[str, str], user_id: str, role_id: str) -> Page:
        with self.org.lock:
            self._held_role(self.org.users, self.org.user_roles, user_id, role_id, "User")
            return self._targets(self.org.user_role_targets.get((user_id, role_id), []), query, user_id, role_id)

    def role_app_targets(self, query: dict[str, str], group_id: str, role_id: str) -> Page:
        with self.org.lock:
            self._held_role(self.org.groups, self.org.group_roles, group_id, role_id, "UserGroup")
            return self._app_targets(self.org.role_app_targets.get((group_id, role_id), []), query)

    def user_role_app_targets(self, query: dict[str, str], user_id: str, role_id: str) -> Page:
        with self.org.lock:
            self._held_role(self.org.users, self.org.user_roles, user_id, role_id, "User")
            return self._app_targets(self.org.user_role_app_targets.get((user_id, role_id), []), query)

    def _app_targets(self, targets: list[Any], query: dict[str, str]) -> Page:
        """A role's app targets, paged by `after` (the last target's id, or its catalog name: a
        catalog target has no id). Short lists, built on each call."""
        limit = parse_limit(query, "role_targets")
        apps = self.org.catalog_apps(targets)
        keys = [a.get("id") or a["name"] for a in apps]
        after = query.get("after")
        start = keys.index(after) + 1 if after in keys else 0
        page = apps[start:start + limit]
        if start + limit < len(apps):
            return page, {**{k: v for k, v in query.items() if k != "after"}, "after": keys[start + limit - 1],
                          "limit": str(limit)}
        return page, None

    def _targets(self, group_ids: list[str], query: dict[str, str], *scope: str) -> Page:
        """A role's target groups, as both role-target routes page them."""
        return self._page("role_targets", query,
                          lambda: [self.org.groups[g] for g in group_ids if g in self.org.groups], *scope)

    def resource_sets(self, query: dict[str, str]) -> Page:
        with self.org.lock:
            return self._page("resource_sets", query, lambda: self.org.resource_sets.values())

    def resource_set_resources(self, query: dict[str, str], set_id: str) -> Page:
        with self.org.lock:
            self._get(self.org.resource_sets, set_id, "ResourceSet")
            return self._page("resource_set_resources", query,
                              lambda: self.org.resource_set_resources.get(set_id, []), set_id)

    def custom_roles(self, query: dict[str, str]) -> Page:
        with self.org.lock:
            return self._page("custom_roles", query, lambda: self.org.custom_roles.values())

    def custom_role_permissions(self, query: dict[str, str], role_id: str) -> Page:
        with self.org.lock:
            self._get(self.org.custom_roles, role_id, "Role")
            return list(self.org.custom_role_permissions.get(role_id, [])), None

    # -- apps, idps, policies -----------------------------------------------------------------

    def apps(self, query: dict[str, str]) -> Page:
        def build() -> list[dict[str, Any]]:
            apps = list(self.org.apps.values())
            if expr := query.get("filter"):
                predicate = compile_filter(expr, _APP_ATTRS)
                apps = [a for a in apps if predicate(a)]
            if q := query.get("q"):
                apps = [a for a in apps if a["name"].startswith(q) or a["label"].lower().startswith(q.lower())]
            return apps

        with self.org.lock:
            return self._page("apps", query, build)

    def app(self, query: dict[str, str], app_id: str) -> Page:
        with self.org.lock:
            return self._get(self.org.apps, app_id, "AppInstance"), None  # type: ignore[return-value]

    def app_users(self, query: dict[str, str], app_id: str) -> Page:
        with self.org.lock:
            self._get(self.org.apps, app_id, "AppInstance")
            return self._page("app_users", query, lambda: self.org.app_users(app_id), app_id)

    def app_groups(self, query: dict[str, str], app_id: str) -> Page:
        with self.org.lock:
            self._get(self.org.apps, app_id, "AppInstance")
            return self._page("app_groups", query, lambda: self.org.app_group_objects(app_id), app_id)

    def idps(self, query: dict[str, str]) -> Page:
        with self.org.lock:
            return self._page("idps", query, lambda: list(self.org.idps.values()))

    def policies(self, query: dict[str, str]) -> Page:
        ptype = query.get("type")
        if not ptype:
            raise ApiError(400, "Api validation failed: type is required", "E0000001")
        with self.org.lock:
            return self._page("policies", query, lambda: [p for p in self.org.policies.values() if p["type"] == ptype])

    def policy_rules(self, query: dict[str, str], policy_id: str) -> Page:
        with self.org.lock:
            self._get(self.org.policies, policy_id, "Policy")
            return list(self.org.rules.get(policy_id, [])), None

    # -- the System Log -----------------------------------------------------------------------

    def logs(self, query: dict[str, str]) -> Page:
        events = self.sb.events
        limit = parse_limit(query, "logs", 100, 1000)
        if query.get("sortOrder", "ASCENDING") != "ASCENDING":
            raise ApiError(400, "Api validation failed: the sandbox serves sortOrder=ASCENDING only", "E0000001")
        since, until = parse_time_param(query, "since"), parse_time_param(query, "until")
        after = query.get("after")
        if after and since is not None:
            raise ApiError(400, "Api validation failed: since and after are mutually exclusive", "E0000001")
        predicate = compile_filter(query.get("filter"), {"eventType", "actor.id", "target.id", "outcome.result"})
        dice = self.sb.dice
        if until is None:
            if dice.roll(dice.faults.late_rate):
                events.append_late(1, lag=timedelta(minutes=3))
            start = _after_position(after)
            if after is None and since is None:
                since = events.clock.now_ms() - DEFAULT_LOOKBACK_MS
            positions = events.polling_positions(start, since if after is None else None)
        else:
            start_key = _after_key(after)
            if start_key is not None:
                since = start_key[0]
            elif since is None:
                since = until - DEFAULT_LOOKBACK_MS
            positions = events.bounded_positions(since, until, start_key)
        page, last, more = [], None, False
        for pos in positions:
            if len(page) == limit:
                more = True
                break
            event = events.event(pos)
            last = pos
            if predicate is None or predicate(event):
                page.append(event)
        base = {k: v for k, v in query.items() if k not in {"after", "since"}}
        base["limit"] = str(limit)
        if until is None:
            # Polling always offers a next link, even on an empty page.
            if last is None:
                cursor = after or f"{since}_{events.first_position(since)}"
            else:
                cursor = f"{events.persisted_of(last)}_{last + 1}"
            return page, {**base, "after": cursor}
        if more and last is not None:
            return page, {**base, "after": f"{events.published_of(last)}_{last}"}
        return page, None


def _after_position(after: str | None) -> int:
    if not after:
        return 0
    try:
        return int(after.rsplit("_", 1)[1])
    except (IndexError, ValueError):
        raise ApiError(400, "Api validation failed: after", "E0000001") from None


def _after_key(after: str | None) -> tuple[int, int] | None:
    if not after:
        return None
    try:
        published, position = after.rsplit("_", 1)
        return int(published), int(position)
    except ValueError:
        raise ApiError(400, "Api validation failed: after", "E0000001") from None
