"""Hand-written Okta rows for model and check tests, inserted into a tenant schema's real DDL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from oktually_pipeline.warehouse.schema import ensure_tenant_schema, use_tenant_schema

NOW = datetime(2026, 6, 1, 12, tzinfo=timezone.utc)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


class OrgRows:
    """Collects rows per table, then writes them with `insert(engine, tenant)`."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def add(self, table: str, raw: dict[str, Any] | None = None, **cols: Any) -> OrgRows:
        self.rows.setdefault(table, []).append({**cols, "raw": json.dumps(raw or {})})
        return self

    def user(self, id: str, status: str = "ACTIVE", *, last_login: datetime | None = None,
             created: datetime | None = None, deleted: bool = False) -> OrgRows:
        created = created or ago(400)
        return self.add("users", id=id, status=status, login=f"{id}@example.com", email=f"{id}@example.com",
                        created=created, activated=created, last_login=last_login,
                        deleted_at=NOW if deleted else None)

    def group(self, id: str, name: str, description: str | None = None, *, type: str = "OKTA_GROUP",
              deleted: bool = False) -> OrgRows:
        return self.add("groups", id=id, name=name, description=description, type=type, created=ago(500),
                        deleted_at=NOW if deleted else None)

    def members(self, group_id: str, *user_ids: str) -> OrgRows:
        for u in user_ids:
            self.add("group_members", group_id=group_id, user_id=u)
        return self

    def app(self, id: str, label: str | None = None, *, deleted: bool = False, client_id: str | None = None,
            application_type: str | None = None) -> OrgRows:
        return self.add("apps", id=id, name=id, label=label or id, status="ACTIVE", oauth_client_id=client_id,
                        oauth_application_type=application_type, deleted_at=NOW if deleted else None)

    def client_role(self, app_id: str, client_id: str, role_type: str, *target_ids: str, role_id: str | None = None,
                    custom_role_id: str | None = None, resource_set_id: str | None = None,
                    app_targets: tuple[tuple[str, str | None], ...] = ()) -> OrgRows:
        """A role assigned to an app's OAuth client, with its group targets and its app targets
        ((catalog name, instance id or None), as `app_target`)."""
        role_id = role_id or f"r_{role_type}"
        self.add("client_roles", app_id=app_id, client_id=client_id, role_id=role_id, role_type=role_type,
                 label=role_type.title(), status="ACTIVE", assignment_type="CLIENT",
                 custom_role_id=custom_role_id, resource_set_id=resource_set_id)
        for t in target_ids:
            self.add("client_role_targets", client_app_id=app_id, client_id=client_id, role_id=role_id,
                     target_group_id=t)
        for name, target_app in app_targets:
            self.add("client_role_app_targets", client_app_id=app_id, client_id=client_id, role_id=role_id,
                     target=target_app or name, app_name=name, app_id=target_app, display_name=name)
        return self

    def app_user(self, app_id: str, user_id: str, scope: str = "USER") -> OrgRows:
        return self.add("app_users", app_id=app_id, user_id=user_id, scope=scope, status="ACTIVE")

    def app_group(self, app_id: str, group_id: str) -> OrgRows:
        return self.add("app_groups", app_id=app_id, group_id=group_id, priority=0)

    def idp(self, id: str, name: str, status: str = "ACTIVE") -> OrgRows:
        return self.add("idps", id=id, name=name, type="SAML2", status=status)

    def role(self, group_id: str, role_type: str = "USER_ADMIN", role_id: str | None = None) -> OrgRows:
        return self.add("group_roles", group_id=group_id, role_id=role_id or f"r_{role_type}",
                        role_type=role_type, label=role_type.title(), status="ACTIVE", assignment_type="GROUP")

    def targets(self, group_id: str, *target_ids: str, role_id: str = "r_USER_ADMIN") -> OrgRows:
        for t in target_ids:
            self.add("group_role_targets", group_id=group_id, role_id=role_id, target_group_id=t)
        return self

    def user_role(self, user_id: str, role_type: str, *target_ids: str, role_id: str | None = None,
                  custom_role_id: str | None = None, resource_set_id: str | None = None) -> OrgRows:
        """A role assigned to the user directly, with its assignee row and group targets; a CUSTOM
        one names its custom role and the resource set it is bound to."""
        role_id = role_id or f"r_{role_type}"
        if not any(r["id"] == user_id for r in self.rows.get("role_assigned_users", [])):
            self.add("role_assigned_users", id=user_id, orn=f"orn:okta:directory:test:users:{user_id}")
        self.add("user_roles", user_id=user_id, role_id=role_id, role_type=role_type,
                 label=role_type.title(), status="ACTIVE", assignment_type="USER",
                 custom_role_id=custom_role_id, resource_set_id=resource_set_id)
        for t in target_ids:
            self.add("user_role_targets", user_id=user_id, role_id=role_id, target_group_id=t)
        return self

    def custom_role(self, id: str, label: str, *permissions: str) -> OrgRows:
        """A custom role and the permissions it grants."""
        self.add("custom_roles", id=id, label=label)
        for p in permissions:
            self.add("custom_role_permissions", custom_role_id=id, permission=p)
        return self

    def resource_set(self, id: str, label: str, *orns: str, deleted_orns: tuple[str, ...] = ()) -> OrgRows:
        """A resource set and its resources (ORNs); `deleted_orns` are rows marked gone."""
        self.add("resource_sets", id=id, label=label)
        for i, orn in enumerate((*orns, *deleted_orns)):
            self.add("resource_set_resources", resource_set_id=id, id=f"{id}_r{i}", orn=orn,
                     deleted_at=NOW if orn in deleted_orns else None)
        return self

    def app_target(self, assignee_id: str, name: str, app_id: str | None = None, *, direct: bool = False,
                   role_id: str = "r_APP_ADMIN") -> OrgRows:
        """An APP_ADMIN role's target: one app instance (`app_id`), or every instance of the OIN
        catalog app `name`; on a group's role, or with `direct` on a user's."""
        table, col = ("user_role_app_targets", "user_id") if direct else ("group_role_app_targets", "group_id")
        return self.add(table, **{col: assignee_id}, role_id=role_id, target=app_id or name, app_name=name,
                        app_id=app_id, display_name=name)

    def tenant(self, idp_id: str, name: str, *, admins: tuple[str, ...] = (), users: tuple[str, ...] = (),
               apps: tuple[str, ...] = ()) -> OrgRows:
        """An okta-dac tenant that follows the convention: IdP, ADMINS_ (tenantId, Group Admin role
        targeting its own groups), USERS_, and one assigned APPUSERS_ group per app."""
        admins_id, users_id = f"g_admins_{name}", f"g_users_{name}"
        self.idp(idp_id, name)
        self.group(admins_id, f"ADMINS_{name}", json.dumps({"tenantId": idp_id}))
        self.group(users_id, f"USERS_{name}")
        self.members(admins_id, *admins).members(users_id, *users)
        own = [admins_id, users_id]
        for app_id in apps:
            gid = f"g_appusers_{name}_{app_id}"
            self.group(gid, f"APPUSERS_{name}_{app_id}").app_group(app_id, gid)
            own.append(gid)
        return self.role(admins_id).targets(admins_id, *own)

    def event(self, uuid: str, event_type: str, published: datetime, actor_id: str | None = None, *,
              result: str = "SUCCESS", reason: str | None = None, raw: dict[str, Any] | None = None) -> OrgRows:
        return self.add("log_events", raw=raw, uuid=uuid, event_type=event_type, published=published,
                        actor_id=actor_id, actor_alternate_id=f"{actor_id}@example.com" if actor_id else None,
                        outcome_result=result, outcome_reason=reason)

    def insert(self, engine: sa.Engine, tenant_id: str) -> None:
        ensure_tenant_schema(engine, tenant_id)
        with engine.begin() as conn:
            use_tenant_schema(conn, tenant_id)
            for table, rows in self.rows.items():
                for row in rows:
                    cols = ", ".join(row)
                    binds = ", ".join(f"CAST(:{c} AS jsonb)" if c == "raw" else f":{c}" for c in row)
                    conn.execute(sa.text(f"INSERT INTO {table} ({cols}) VALUES ({binds})"), row)
