-- Who belongs to which customer tenant: one row per member of a tenant's USERS_<tenant> group, with
-- whether they are also one of its admins (ADMINS_<tenant>).
-- From okta_group_members, okta_users and the tenants model.
SELECT t.tenant_id,
       t.tenant_name,
       u.id         AS user_id,
       u.login,
       u.email,
       u.status,
       EXISTS (
           SELECT 1 FROM group_members a
           WHERE a.group_id = t.admins_group_id AND a.user_id = u.id AND a.deleted_at IS NULL
       )            AS is_admin
FROM tenants t
JOIN group_members gm ON gm.group_id = t.users_group_id AND gm.deleted_at IS NULL
JOIN users u          ON u.id = gm.user_id AND u.deleted_at IS NULL
