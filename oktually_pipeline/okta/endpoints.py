"""Okta's state endpoints declared as data: one `Endpoint` per warehouse table.

The generic loader (`ingest/state.py`) and the asset factory (`assets/state.py`) read nothing but
these declarations: path, key, the columns extracted from each object, page size, how the list is
read incrementally, which parent a child endpoint fans out over, what makes a parent's children
worth re-reading, and which System Log events name changed or deleted objects. The DDL in
`sql/schema/0NN_<table>.sql` holds exactly the columns named here (a test checks it).

How each table stays current without one call per group or app on every run:

* `users`, `groups`: incremental, `search`/`filter` on `lastUpdated gt (mark - overlap)` (groups
  also `lastMembershipUpdated`); `search` and `filter` include DEPROVISIONED users, the plain list
  does not. Deletions: System Log delete events, and the periodic full reconciliation.
* `apps`, `idps`, `policies`: Okta offers no lastUpdated filter, and the whole list is one page (one
  per policy type): each run reads it whole and marks what vanished.
* `group_members`: re-read for groups whose `lastMembershipUpdated` moved (Okta moves it on every
  add and remove, and when a member is deleted).
* `app_users`, `app_groups`: an app's `lastUpdated` does not move when assignments change, so an
  app is re-read when a System Log assignment event names it (`application.user_membership.*`,
  `group.application_assignment.*`) and when its version token moves. For `app_users` the token
  also covers the app's assigned groups with their `lastMembershipUpdated` and the status changes
  of its users: a member added to an app's group, or a user deactivated, changes the app's users
  with no app event.
* `policy_rules`: re-read for policies whose `lastUpdated` moved or that `policy.rule.*` events name.
* `group_roles`: one call per group, so only new groups, groups whose `lastUpdated` moved, groups
  named by `group.privilege.*` events, never the built-in Everyone group; `group_role_targets` are
  read for scopable roles (USER_ADMIN, HELP_DESK_ADMIN, GROUP_MEMBERSHIP_ADMIN) when their group's
  roles were re-read, and `group_role_app_targets` for APP_ADMIN roles likewise. Anything these
  signals miss (e.g. a role granted with no event) is caught by the reconciliation.
* `role_assigned_users`: the (short) list of users with directly assigned admin roles, read whole;
  `user_roles` are read for users new to it, users named by `user.account.privilege.*` events,
  and on reconciliation; `user_role_targets` and `user_role_app_targets` as for groups.
* `client_roles`: one call per app with an OAuth client, so only new apps, apps whose
  `lastUpdated` moved, and the reconciliation; a grant to a client changes neither that we know of.
  `client_role_targets` and `client_role_app_targets` as for groups.
* `resource_sets` and `custom_roles`: short lists, read whole; `resource_set_resources` and
  `custom_role_permissions` are re-read for sets and roles whose `lastUpdated` moved. Our System
  Log recordings hold no event for either, so a change that leaves `lastUpdated` alone waits for
  the reconciliation.
* Every child table: the periodic reconciliation (default daily) re-reads every parent, resumably.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

Kind = Literal["text", "timestamp", "int", "bool"]

# Okta's filter grammar wants UTC with milliseconds: lastUpdated gt "2024-01-01T00:00:00.000Z".
_EPOCH = "1970-01-01T00:00:00.000Z"


def okta_time(ts: datetime | None) -> str:
    """A datetime as Okta's filters and search want it; None means the beginning of time."""
    if ts is None:
        return _EPOCH
    ts = ts.astimezone(timezone.utc)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def parse_time(value: Any) -> datetime | None:
    """An Okta timestamp (ISO 8601, `Z`) as an aware datetime; None for null or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        return None
    return ts if ts.tzinfo is not None else None


def _dig(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = value if isinstance(value, str) else str(value)
    # Postgres text cannot hold NUL; Okta has never sent one, but a page must not fail on it.
    return text.replace("\x00", "") if "\x00" in text else text


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _as_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


_CONVERT = {"text": _as_text, "timestamp": parse_time, "int": _as_int, "bool": _as_bool}


@dataclass(frozen=True)
class Column:
    """A typed column: `name` in the table, taken from dotted `path` in the Okta object, or from
    `fallback` where the object has nothing at `path`."""

    name: str
    path: str
    kind: Kind = "text"
    fallback: str | None = None

    def extract(self, obj: dict[str, Any]) -> Any:
        value = _CONVERT[self.kind](_dig(obj, self.path))
        if value is None and self.fallback:
            value = _CONVERT[self.kind](_dig(obj, self.fallback))
        return value


@dataclass(frozen=True)
class EventTrigger:
    """System Log events that name an object: `event_types` (a trailing `*` is a prefix) and the
    `target[].type`s whose `id` is the object's id."""

    event_types: tuple[str, ...]
    target_types: tuple[str, ...]


@dataclass(frozen=True)
class ChildOf:
    """How a child endpoint fans out over its parent table's rows.

    `bind` maps each child column filled from the parent (also the `{placeholder}` in the path) to
    the parent column it copies. `version` is a SQL expression over the parent row (alias `p`,
    any other tables it names listed in `reads`) giving a text token that changes whenever the
    parent's children may have: a parent is re-read when its token differs from the one recorded
    with its children (in `child_sync`), when `refresh_events` name it, or on the periodic
    reconciliation. `where` is a constant SQL predicate on the parent rows restricting which
    parents have children worth a call. Child rows that vanish from a re-read parent are deleted
    (`on_vanish="delete"`, relationship tables) or marked `deleted_at` (`"mark"`, objects with
    their own id).
    """

    parent: str
    bind: tuple[tuple[str, str], ...]
    version: str | None = None
    reads: tuple[str, ...] = ()
    where: str | None = None
    on_vanish: Literal["delete", "mark"] = "delete"
    refresh_events: EventTrigger | None = None


def version_of(ts_sql: str) -> str:
    """A timestamp as a version token that does not depend on the session's TimeZone."""
    return f"coalesce((extract(epoch FROM {ts_sql}) * 1000000)::bigint::text, '')"


@dataclass(frozen=True)
class Endpoint:
    """One state table and the Okta list endpoint it comes from."""

    table: str
    path: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    description: str
    page_size: int | None = 200
    # Incremental read: the query parameter and a condition template over `{since}`; the mark is
    # the max of the `cursor` fields seen. No incremental param: every run reads the whole list.
    incremental_param: Literal["search", "filter"] | None = None
    incremental_condition: str | None = None
    cursor: tuple[str, ...] = ()
    # Several calls make up the whole list (policies: one per type); `fan_out_column` is the column
    # that holds the fan-out value, so a slice Okta refuses never gets its rows marked deleted.
    fan_out: tuple[tuple[str, str], ...] = ()
    fan_out_column: str | None = None
    child_of: ChildOf | None = None
    # Rows whose object a System Log event shows deleted are marked `deleted_at`.
    delete_events: EventTrigger | None = None
    # Child rows pointing at a deleted object elsewhere (column, table) are removed: Okta drops a
    # deleted user from every group and app.
    refs: tuple[tuple[str, str], ...] = ()
    reconcile_children: bool = True
    # False where Okta lists a whole other object per row (a group's members are User objects):
    # a copy per membership would duplicate `users.raw` and go stale when the user changes.
    keep_raw: bool = True
    # The key the newer endpoints wrap their list in (`{"value": [...], "_links": {"next": ...}}`).
    envelope: str | None = None
    # Objects the endpoint lists that belong to another table: (dotted path, value) pairs; an
    # object matching any of them is not stored.
    skip_if: tuple[tuple[str, str], ...] = ()

    def keeps(self, obj: dict[str, Any]) -> bool:
        return not any(_dig(obj, path) == value for path, value in self.skip_if)

    @property
    def stream(self) -> str:
        return self.table

    @property
    def asset_key(self) -> str:
        return f"okta_{self.table}"

    @property
    def incremental(self) -> bool:
        return self.incremental_param is not None

    @property
    def bound_columns(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.child_of.bind) if self.child_of else ()

    @property
    def all_columns(self) -> tuple[str, ...]:
        return self.bound_columns + tuple(c.name for c in self.columns)


def _ts(name: str, path: str) -> Column:
    return Column(name, path, "timestamp")


_CREATED_UPDATED = (_ts("created", "created"), _ts("last_updated", "lastUpdated"))

# Standard roles whose group targets can be narrowed; any other role's targets list is `[]`.
SCOPABLE_ROLE_TYPES = ("USER_ADMIN", "HELP_DESK_ADMIN", "GROUP_MEMBERSHIP_ADMIN")
_SCOPABLE_ROLE = "p.role_type IN (" + ", ".join(f"'{t}'" for t in SCOPABLE_ROLE_TYPES) + ")"
# The one standard role whose targets are apps: OIN catalog apps (every instance) or app instances.
_APP_SCOPED_ROLE = "p.role_type = 'APP_ADMIN'"

# Okta wants `type` on /api/v1/policies; types an org does not have answer 400 and are skipped.
POLICY_TYPES = (
    "OKTA_SIGN_ON", "PASSWORD", "MFA_ENROLL", "ACCESS_POLICY", "PROFILE_ENROLLMENT", "IDP_DISCOVERY",
    "ENTITY_RISK", "POST_AUTH_SESSION", "DEVICE_SIGNAL_COLLECTION", "SESSION_VIOLATION_DETECTION",
    "CLIENT_UPDATE", "IDENTITY_CLAIM_SOURCING",
)

USERS = Endpoint(
    table="users",
    path="/api/v1/users",
    key=("id",),
    columns=(
        Column("id", "id"), Column("status", "status"), Column("login", "profile.login"),
        Column("email", "profile.email"), Column("first_name", "profile.firstName"),
        Column("last_name", "profile.lastName"), Column("user_type_id", "type.id"),
        _ts("created", "created"), _ts("activated", "activated"),
        _ts("status_changed", "statusChanged"), _ts("last_login", "lastLogin"),
        _ts("last_updated", "lastUpdated"), _ts("password_changed", "passwordChanged"),
    ),
    description="Okta users (`GET /api/v1/users`), DEPROVISIONED ones included with their status.",
    # The plain list omits DEPROVISIONED users; `search` (and `filter`) include them.
    incremental_param="search",
    incremental_condition='lastUpdated gt "{since}"',
    cursor=("lastUpdated",),
    delete_events=EventTrigger(("user.lifecycle.delete.completed",), ("User",)),
)

GROUPS = Endpoint(
    table="groups",
    path="/api/v1/groups",
    key=("id",),
    columns=(
        Column("id", "id"), Column("type", "type"), Column("name", "profile.name"),
        Column("description", "profile.description"), *_CREATED_UPDATED,
        _ts("last_membership_updated", "lastMembershipUpdated"),
    ),
    description="Okta groups (`GET /api/v1/groups`) with their `lastMembershipUpdated`.",
    incremental_param="filter",
    incremental_condition='lastUpdated gt "{since}" or lastMembershipUpdated gt "{since}"',
    cursor=("lastUpdated", "lastMembershipUpdated"),
    delete_events=EventTrigger(("group.lifecycle.delete",), ("UserGroup",)),
)

GROUP_MEMBERS = Endpoint(
    table="group_members",
    path="/api/v1/groups/{group_id}/users",
    key=("group_id", "user_id"),
    columns=(Column("user_id", "id"),),
    description=(
        "Group memberships (`GET /api/v1/groups/{id}/users`), one row per (group, user); only "
        "groups whose `lastMembershipUpdated` moved are re-read."
    ),
    page_size=500,
    keep_raw=False,
    # lastMembershipUpdated moves with every add and remove: no System Log trigger needed.
    child_of=ChildOf(parent="groups", bind=(("group_id", "id"),),
                     version=version_of("p.last_membership_updated")),
    refs=(("user_id", "users"),),
)

APPS = Endpoint(
    table="apps",
    path="/api/v1/apps",
    key=("id",),
    columns=(
        Column("id", "id"), Column("name", "name"), Column("label", "label"),
        Column("status", "status"), Column("sign_on_mode", "signOnMode"),
        # OIDC and API service apps: their OAuth client, and what kind (`service`: a machine).
        Column("oauth_client_id", "credentials.oauthClient.client_id"),
        Column("oauth_application_type", "settings.oauthClient.application_type"), *_CREATED_UPDATED,
    ),
    description="Okta applications (`GET /api/v1/apps`), read whole each run (no lastUpdated filter).",
    cursor=("lastUpdated",),
    delete_events=EventTrigger(("application.lifecycle.delete",), ("AppInstance",)),
)

# An app's users are its direct assignments plus the members of its assigned groups, and Okta
# drops deactivated users from both without an app event. So the token covers the app itself, the
# set of assigned groups with their lastMembershipUpdated, and the status changes of every user
# who is, or could be through a group, assigned.
_APP_USERS_VERSION = (
    "concat_ws('|', " + version_of("p.last_updated") + ", "
    "(SELECT md5(string_agg(ag.group_id || ':' || " + version_of("g.last_membership_updated")
    + ", ',' ORDER BY ag.group_id)) FROM app_groups ag JOIN groups g ON g.id = ag.group_id "
    "AND g.deleted_at IS NULL WHERE ag.app_id = p.id), "
    + version_of("(SELECT max(u.status_changed) FROM users u WHERE u.id IN ("
                 "SELECT au.user_id FROM app_users au WHERE au.app_id = p.id UNION "
                 "SELECT gm.user_id FROM group_members gm JOIN app_groups ag ON ag.group_id = gm.group_id "
                 "WHERE ag.app_id = p.id))") + ")"
)

APP_USERS = Endpoint(
    table="app_users",
    path="/api/v1/apps/{app_id}/users",
    key=("app_id", "user_id"),
    columns=(
        Column("user_id", "id"), Column("scope", "scope"), Column("status", "status"),
        *_CREATED_UPDATED,
    ),
    description=(
        "App assignments of users (`GET /api/v1/apps/{id}/users`), direct (`scope` USER) and via "
        "groups (GROUP); re-read for apps that changed or have assignment events in the System Log."
    ),
    page_size=500,
    child_of=ChildOf(
        parent="apps", bind=(("app_id", "id"),), version=_APP_USERS_VERSION,
        reads=("users", "groups", "group_members", "app_groups"),
        refresh_events=EventTrigger(("application.user_membership.*", "group.application_assignment.*"),
                                    ("AppInstance",)),
    ),
    refs=(("user_id", "users"),),
)

APP_GROUPS = Endpoint(
    table="app_groups",
    path="/api/v1/apps/{app_id}/groups",
    key=("app_id", "group_id"),
    columns=(Column("group_id", "id"), Column("priority", "priority", "int"),
             _ts("last_updated", "lastUpdated")),
    description=(
        "App assignments of groups (`GET /api/v1/apps/{id}/groups`); re-read for apps that changed "
        "or have group assignment events in the System Log."
    ),
    child_of=ChildOf(
        parent="apps", bind=(("app_id", "id"),), version=version_of("p.last_updated"),
        refresh_events=EventTrigger(("group.application_assignment.*",), ("AppInstance",)),
    ),
    refs=(("group_id", "groups"),),
)

IDPS = Endpoint(
    table="idps",
    path="/api/v1/idps",
    key=("id",),
    columns=(Column("id", "id"), Column("type", "type"), Column("name", "name"),
             Column("status", "status"), *_CREATED_UPDATED),
    description="Identity providers (`GET /api/v1/idps`), read whole each run.",
    cursor=("lastUpdated",),
)

POLICIES = Endpoint(
    table="policies",
    path="/api/v1/policies",
    key=("id",),
    columns=(
        Column("id", "id"), Column("type", "type"), Column("name", "name"),
        Column("status", "status"), Column("priority", "priority", "int"),
        Column("system", "system", "bool"), *_CREATED_UPDATED,
    ),
    description="Policies (`GET /api/v1/policies?type=…`, one call per type), read whole each run.",
    cursor=("lastUpdated",),
    fan_out=tuple(("type", t) for t in POLICY_TYPES),
    fan_out_column="type",
)

POLICY_RULES = Endpoint(
    table="policy_rules",
    path="/api/v1/policies/{policy_id}/rules",
    key=("id",),
    columns=(
        Column("id", "id"), Column("type", "type"), Column("name", "name"),
        Column("status", "status"), Column("priority", "priority", "int"),
        Column("system", "system", "bool"), *_CREATED_UPDATED,
    ),
    description=(
        "Policy rules (`GET /api/v1/policies/{id}/rules`); re-read for policies that changed or "
        "have rule events in the System Log."
    ),
    page_size=None,  # the rules list documents no paging; Link headers are followed if present
    child_of=ChildOf(
        parent="policies", bind=(("policy_id", "id"),), version=version_of("p.last_updated"),
        on_vanish="mark",
        # Rule events name the policy holding the rule; its target type is not in our recordings.
        refresh_events=EventTrigger(("policy.rule.*",), ("Policy", "PolicyEntity")),
    ),
)

Assignee = Literal["group", "user", "client"]
# Per kind of role holder: the path of its roles, and the columns naming it in a role's child rows,
# each with the column of the roles table it copies. A client's are its app (`client_app_id`: the
# target tables have an `app_id` of their own) and its client id, which the path takes.
_ASSIGNEES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "group": ("/api/v1/groups/{group_id}/roles", (("group_id", "group_id"),)),
    "user": ("/api/v1/users/{user_id}/roles", (("user_id", "user_id"),)),
    "client": ("/oauth2/v1/clients/{client_id}/roles", (("client_app_id", "app_id"), ("client_id", "client_id"))),
}


GROUP_ROLES = Endpoint(
    table="group_roles",
    path=_ASSIGNEES["group"][0],
    # Standard role assignment ids repeat across assignees (the Base32 of the role type).
    key=("group_id", "role_id"),
    columns=(
        Column("role_id", "id"), Column("role_type", "type"), Column("label", "label"),
        Column("status", "status"), Column("assignment_type", "assignmentType"),
        # A CUSTOM role assignment binds a custom role to a resource set: what it may do, and where.
        # A resource set binding's members are listed this way too (their `member` link).
        Column("custom_role_id", "role"), Column("resource_set_id", "resource-set"), *_CREATED_UPDATED,
    ),
    description=(
        "Admin roles held by groups (`GET /api/v1/groups/{id}/roles`); re-read for new and changed "
        "groups, groups named by privilege grant/revoke events, and on reconciliation."
    ),
    page_size=None,  # not paged
    child_of=ChildOf(
        parent="groups", bind=(("group_id", "id"),), version=version_of("p.last_updated"),
        # The built-in Everyone group cannot hold admin roles.
        where="p.type IS DISTINCT FROM 'BUILT_IN'",
        refresh_events=EventTrigger(("group.privilege.*",), ("UserGroup",)),
    ),
)

def _of_roles(assignee: Assignee, where: str) -> ChildOf:
    """A child of the assignee's roles, read for the roles `where` selects whenever the assignee's
    roles were re-read: that is when what a role covers is worth checking."""
    _, holder = _ASSIGNEES[assignee]
    return ChildOf(parent=f"{assignee}_roles", bind=(*holder, ("role_id", "role_id")),
                   version=version_of("p.synced_at"), where=where)


def _role_targets(assignee: Assignee, whose: str) -> Endpoint:
    """The groups the scoped admin roles of a group, a user or an app's client are limited to
    (`.../roles/{roleId}/targets/groups`)."""
    roles, holder = _ASSIGNEES[assignee]
    return Endpoint(
        table=f"{assignee}_role_targets",
        path=f"{roles}/{{role_id}}/targets/groups",
        key=(holder[0][0], "role_id", "target_group_id"),
        columns=(Column("target_group_id", "id"),),
        keep_raw=False,
        description=(
            f"Groups {whose} scoped admin role is limited to (`GET {_doc_path(roles)}/{{roleId}}/targets/groups`); "
            f"read for scopable role types whenever the {assignee}'s roles are re-read."
        ),
        child_of=_of_roles(assignee, _SCOPABLE_ROLE),
        # Okta drops a deleted group from every role's targets without touching the role.
        refs=(("target_group_id", "groups"),),
    )


def _doc_path(roles: str) -> str:
    """`/api/v1/groups/{id}/roles` for the docs: the placeholder as Okta's reference names it."""
    return re.sub(r"\{(\w+)\}", lambda m: "{clientId}" if m.group(1) == "client_id" else "{id}", roles)


GROUP_ROLE_TARGETS = _role_targets("group", "a group's")


def _role_app_targets(assignee: Assignee, whose: str) -> Endpoint:
    """The apps the APP_ADMIN roles of a group, a user or an app's client are limited to
    (`.../roles/{roleId}/targets/catalog/apps`).

    Okta lists two kinds of target: an OIN catalog app (`name`, no `id`), meaning every instance
    of it, present and future; and one app instance (`id` too). `target` is the instance id, or
    the catalog name where there is none, so both kinds have a key.
    """
    roles, holder = _ASSIGNEES[assignee]
    return Endpoint(
        table=f"{assignee}_role_app_targets",
        path=f"{roles}/{{role_id}}/targets/catalog/apps",
        key=(holder[0][0], "role_id", "target"),
        columns=(Column("target", "id", fallback="name"), Column("app_name", "name"), Column("app_id", "id"),
                 Column("display_name", "displayName")),
        description=(
            f"Apps {whose} APP_ADMIN role is limited to "
            f"(`GET {_doc_path(roles)}/{{roleId}}/targets/catalog/apps`): OIN catalog apps "
            f"(`app_id` null: every instance of `app_name`) and app instances (`app_id`); read whenever "
            f"the {assignee}'s roles are re-read. No rows: the role covers every app."
        ),
        child_of=_of_roles(assignee, _APP_SCOPED_ROLE),
        # Okta drops a deleted app instance from every role's targets without touching the role.
        refs=(("app_id", "apps"),),
    )


GROUP_ROLE_APP_TARGETS = _role_app_targets("group", "a group's")

ROLE_ASSIGNED_USERS = Endpoint(
    table="role_assigned_users",
    path="/api/v1/iam/assignees/users",
    key=("id",),
    columns=(Column("id", "id"), Column("orn", "orn")),
    description=(
        "Users holding admin roles assigned to them directly (`GET /api/v1/iam/assignees/users`), "
        "read whole each run; the parents of `user_roles`."
    ),
    page_size=100,
    envelope="value",
)

USER_ROLES = Endpoint(
    table="user_roles",
    path=_ASSIGNEES["user"][0],
    key=("user_id", "role_id"),
    columns=GROUP_ROLES.columns,
    description=(
        "Admin roles assigned to users directly (`GET /api/v1/users/{id}/roles`, `assignmentType` "
        "USER); read for users new to the role assignees list, users named by privilege "
        "grant/revoke events, and on reconciliation."
    ),
    page_size=None,  # not paged
    # Okta lists here the roles the user holds through groups too; those are `group_roles` rows,
    # kept current by the group's own signals, and a copy here would go stale.
    skip_if=(("assignmentType", "GROUP"),),
    child_of=ChildOf(
        parent="role_assigned_users", bind=(("user_id", "id"),),
        # An assignee carries no timestamp: new assignees, events and reconciliation tell.
        refresh_events=EventTrigger(("user.account.privilege.*",), ("User",)),
    ),
    refs=(("user_id", "users"),),
)

USER_ROLE_TARGETS = _role_targets("user", "a user's directly assigned")
USER_ROLE_APP_TARGETS = _role_app_targets("user", "a user's directly assigned")

CLIENT_ROLES = Endpoint(
    table="client_roles",
    path=_ASSIGNEES["client"][0],
    key=("app_id", "role_id"),
    columns=GROUP_ROLES.columns,
    description=(
        "Admin roles assigned to apps' OAuth clients (`GET /oauth2/v1/clients/{clientId}/roles`, "
        "`assignmentType` CLIENT): API service apps acting as admins. Read for new apps, apps whose "
        "`lastUpdated` moved, and on reconciliation."
    ),
    page_size=None,  # not paged
    child_of=ChildOf(
        parent="apps", bind=(("app_id", "id"), ("client_id", "oauth_client_id")),
        # Which System Log event a client role grant writes is not in our recordings, nor whether
        # it moves the app's lastUpdated: a grant to an unchanged app waits for the reconciliation.
        version=version_of("p.last_updated"), where="p.oauth_client_id IS NOT NULL",
    ),
)

CLIENT_ROLE_TARGETS = _role_targets("client", "an app's client's")
CLIENT_ROLE_APP_TARGETS = _role_app_targets("client", "an app's client's")

RESOURCE_SETS = Endpoint(
    table="resource_sets",
    path="/api/v1/iam/resource-sets",
    key=("id",),
    columns=(Column("id", "id"), Column("label", "label"), Column("description", "description"),
             *_CREATED_UPDATED),
    description=(
        "Resource sets (`GET /api/v1/iam/resource-sets`): the scopes of custom admin role "
        "assignments (`group_roles`/`user_roles.resource_set_id`), read whole each run."
    ),
    page_size=None,  # paged by `after` only; Okta takes no `limit` here
    envelope="resource-sets",
    cursor=("lastUpdated",),
)

RESOURCE_SET_RESOURCES = Endpoint(
    table="resource_set_resources",
    path="/api/v1/iam/resource-sets/{resource_set_id}/resources",
    key=("resource_set_id", "id"),
    # The resource is named by its ORN: a group (`...:groups:<id>`), its members
    # (`...:groups:<id>:contained_resources`), every user (`...:users`), an app, and so on.
    columns=(Column("id", "id"), Column("orn", "orn"), *_CREATED_UPDATED),
    description=(
        "What each resource set holds (`GET /api/v1/iam/resource-sets/{id}/resources`), one row per "
        "resource with its ORN; re-read for sets whose `lastUpdated` moved and on reconciliation."
    ),
    page_size=100,
    envelope="resources",
    child_of=ChildOf(parent="resource_sets", bind=(("resource_set_id", "id"),),
                     version=version_of("p.last_updated")),
)

CUSTOM_ROLES = Endpoint(
    table="custom_roles",
    path="/api/v1/iam/roles",
    key=("id",),
    columns=(Column("id", "id"), Column("label", "label"), Column("description", "description"),
             *_CREATED_UPDATED),
    description=(
        "Custom admin roles (`GET /api/v1/iam/roles`), the `custom_role_id` of CUSTOM role "
        "assignments, read whole each run."
    ),
    page_size=None,  # paged by `after` only
    envelope="roles",
    cursor=("lastUpdated",),
)

CUSTOM_ROLE_PERMISSIONS = Endpoint(
    table="custom_role_permissions",
    path="/api/v1/iam/roles/{custom_role_id}/permissions",
    # A permission has no id: its label (`okta.users.read`, ...) is unique within the role.
    key=("custom_role_id", "permission"),
    columns=(Column("permission", "label"), *_CREATED_UPDATED),
    description=(
        "What each custom role may do (`GET /api/v1/iam/roles/{id}/permissions`), one row per "
        "permission, with its conditions in `raw`; re-read for roles whose `lastUpdated` moved and "
        "on reconciliation."
    ),
    page_size=None,  # not paged
    envelope="permissions",
    child_of=ChildOf(parent="custom_roles", bind=(("custom_role_id", "id"),),
                     version=version_of("p.last_updated")),
)

# In dependency order: a child after its parent and every table its version token reads.
ENDPOINTS: tuple[Endpoint, ...] = (
    USERS, GROUPS, GROUP_MEMBERS, APPS, APP_GROUPS, APP_USERS, IDPS, POLICIES, POLICY_RULES,
    GROUP_ROLES, GROUP_ROLE_TARGETS, GROUP_ROLE_APP_TARGETS, ROLE_ASSIGNED_USERS, USER_ROLES, USER_ROLE_TARGETS,
    USER_ROLE_APP_TARGETS, CLIENT_ROLES, CLIENT_ROLE_TARGETS, CLIENT_ROLE_APP_TARGETS, RESOURCE_SETS,
    RESOURCE_SET_RESOURCES, CUSTOM_ROLES, CUSTOM_ROLE_PERMISSIONS,
)
BY_TABLE: dict[str, Endpoint] = {e.table: e for e in ENDPOINTS}


def upstream_tables(ep: Endpoint) -> tuple[str, ...]:
    """Tables that must be loaded before `ep` in a run: its parent, what its version reads, and
    the tables its rows refer to."""
    if not ep.child_of:
        return ()
    tables = (ep.child_of.parent, *ep.child_of.reads, *(t for _, t in ep.refs))
    return tuple(t for t in dict.fromkeys(tables) if t != ep.table)
