"""The models and what each one reads: the explicit dependency table the asset factory uses.

A model is `sql/models/<name>.sql`, a single SELECT run with `search_path` at the tenant's schema.
`raw` names the state tables it reads (asset `okta_<table>`), `log_events` says it reads the System
Log, `models` the other models it reads. `key` is the grain (one row per key, checked by an asset
check, NULLs compare equal); `indexes` are extra lookup paths that the models reading this one join on.

Indexes the models lean on: every model gets one on its key; `tenant_users (user_id)` joins System
Log actors to tenants (signin_daily, dormant_users); `tenants (admins_group_id | users_group_id)`
and `tenant_app_entitlements (tenant_id)` serve the membership joins of the tenancy models. From
sql/schema: `group_members` (group_id, user_id) and its user_id index, `app_groups` (app_id, group_id)
and its group_id index, `app_users` (app_id, user_id) and its user_id index, `groups (name)` for
the tenant groups found by name, `log_events (event_type, published)` for the event filters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from oktually_pipeline.warehouse.sqlfiles import load_sql


@dataclass(frozen=True)
class Model:
    name: str
    key: tuple[str, ...]
    raw: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    log_events: bool = False
    indexes: tuple[tuple[str, ...], ...] = ()

    @property
    def sql_name(self) -> str:
        return f"models/{self.name}.sql"

    @property
    def sql_path(self) -> str:
        return f"sql/{self.sql_name}"

    @property
    def params(self) -> frozenset[str]:
        """The `:name` values the SQL binds (thresholds from the run config)."""
        code = re.sub(r"--[^\n]*", "", load_sql(self.sql_name))
        return frozenset(re.findall(r"(?<![:\w]):(\w+)", code))

    def summary(self) -> str:
        """What the model holds: the SQL file's leading comment up to its "From ..." line (the asset
        description lists what it reads from this table instead)."""
        lines = []
        for line in load_sql(self.sql_name).splitlines():
            text = line[2:].strip() if line.startswith("--") else ""
            if not text or text.startswith("From "):
                break
            lines.append(text)
        return " ".join(lines)


MODELS: tuple[Model, ...] = (
    # Tenancy (okta-dac): an IdP is a customer tenant; its groups are found by name.
    Model("tenant_app_entitlements", key=("group_id",), indexes=(("tenant_id",), ("app_id",)),
          raw=("groups", "idps", "apps", "app_groups", "group_members", "users")),
    Model("tenants", key=("tenant_id",), indexes=(("admins_group_id",), ("users_group_id",)),
          raw=("idps", "groups", "group_members", "users"), models=("tenant_app_entitlements",)),
    Model("tenant_admins", key=("tenant_id", "user_id"), indexes=(("user_id",),),
          raw=("group_members", "users"), models=("tenants",)),
    Model("tenant_users", key=("tenant_id", "user_id"), indexes=(("user_id",),),
          raw=("group_members", "users"), models=("tenants",)),
    Model("superusers", key=("group_id", "user_id"), raw=("groups", "group_members", "users")),
    Model("convention_issues", key=("kind", "object_ids"), indexes=(("tenant_id",),),
          raw=("idps", "groups", "group_roles", "group_role_targets"),
          models=("tenants", "tenant_admins", "tenant_users", "tenant_app_entitlements")),
    # Access and activity.
    Model("user_app_access", key=("user_id", "app_id", "via", "group_id"), indexes=(("app_id",),),
          raw=("users", "apps", "app_users", "app_groups", "groups", "group_members")),
    Model("resource_set_scope", key=("resource_set_id", "resource_id"), indexes=(("group_id",), ("app_id",)),
          raw=("resource_sets", "resource_set_resources", "groups", "apps")),
    Model("admin_role_holders", key=("user_id", "group_id", "role_id"), indexes=(("role_type",),),
          raw=("group_roles", "group_role_targets", "group_role_app_targets", "role_assigned_users", "user_roles",
               "user_role_targets", "user_role_app_targets", "custom_role_permissions", "resource_sets",
               "groups", "group_members", "apps", "users"), models=("resource_set_scope",)),
    Model("service_app_admins", key=("app_id", "role_id"), indexes=(("role_type",),),
          raw=("client_roles", "client_role_targets", "client_role_app_targets", "apps", "groups",
               "custom_role_permissions", "resource_sets"), models=("resource_set_scope",)),
    Model("signin_daily", key=("day", "tenant_id"), log_events=True, models=("tenant_users",)),
    Model("dormant_users", key=("user_id",), raw=("users",), log_events=True, models=("tenant_users",)),
    Model("deprovisioned_with_access", key=("user_id", "access", "object_id"),
          raw=("users", "group_members", "groups", "app_users", "apps")),
    Model("recent_admin_changes", key=("uuid",), indexes=(("published",),), log_events=True),
)
BY_NAME: dict[str, Model] = {m.name: m for m in MODELS}


def in_build_order(models: tuple[Model, ...] = MODELS) -> list[Model]:
    """The models ordered so that each comes after the models it reads."""
    done: dict[str, Model] = {}

    def visit(m: Model, path: tuple[str, ...] = ()) -> None:
        if m.name in path:
            raise ValueError(f"models read each other in a cycle: {' -> '.join((*path, m.name))}")
        for dep in m.models:
            if dep not in done:
                visit(BY_NAME[dep], (*path, m.name))
        done.setdefault(m.name, m)

    for m in models:
        visit(m)
    return list(done.values())
