-- Who administers which customer tenant: one row per member of a tenant's ADMINS_<tenant> group, with
-- whether they are also a user of that tenant (USERS_<tenant>), as okta-dac expects.
-- From okta_group_members, okta_users and the tenants model.
SELECT t.tenant_id,
       t.tenant_name,
       u.id         AS user_id,
       u.login,
       u.email,
       u.status,
       EXISTS (
           SELECT 1 FROM group_members m
           WHERE m.group_id = t.users_group_id AND m.user_id = u.id AND m.deleted_at IS NULL
       )            AS is_tenant_user
FROM tenants t
JOIN group_members gm ON gm.group_id = t.admins_group_id AND gm.deleted_at IS NULL
JOIN users u          ON u.id = gm.user_id AND u.deleted_at IS NULL
