-- Who holds admin roles and over what: one row per user, per role held by a group they are in,
-- with the groups the role is limited to (no targets: the role is not limited to groups).
-- Deactivated (DEPROVISIONED) members hold nothing while deactivated (see deprovisioned_with_access).
-- Only group-held roles: roles assigned to users directly are not ingested (no user_roles table).
-- From okta_group_roles, okta_group_role_targets, okta_groups, okta_group_members, okta_users.
WITH roles AS (
    SELECT gr.group_id, g.name AS group_name, gr.role_id, gr.role_type, gr.label, gr.status
    FROM group_roles gr
    JOIN groups g ON g.id = gr.group_id AND g.deleted_at IS NULL
    WHERE gr.deleted_at IS NULL
),
targets AS (
    SELECT t.group_id, t.role_id,
           array_agg(t.target_group_id ORDER BY t.target_group_id) AS target_group_ids,
           array_agg(tg.name ORDER BY t.target_group_id)           AS target_group_names
    FROM group_role_targets t
    JOIN groups tg ON tg.id = t.target_group_id AND tg.deleted_at IS NULL
    WHERE t.deleted_at IS NULL
    GROUP BY t.group_id, t.role_id
)
SELECT u.id          AS user_id,
       u.login,
       u.status      AS user_status,
       'group'       AS via,
       r.group_id,
       r.group_name,
       r.role_id,
       r.role_type,
       r.label       AS role_label,
       r.status      AS role_status,
       coalesce(t.target_group_ids, '{}'::text[])   AS target_group_ids,
       coalesce(t.target_group_names, '{}'::text[]) AS target_group_names
FROM roles r
JOIN group_members gm ON gm.group_id = r.group_id AND gm.deleted_at IS NULL
JOIN users u          ON u.id = gm.user_id AND u.deleted_at IS NULL AND u.status IS DISTINCT FROM 'DEPROVISIONED'
LEFT JOIN targets t   ON t.group_id = r.group_id AND t.role_id = r.role_id
