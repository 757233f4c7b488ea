-- Deactivated (DEPROVISIONED) or deleted users who still hold a group membership or an app
-- assignment: one row per such user and group or app. Built-in groups (Everyone) are left out:
-- Okta keeps every user in them.
-- From okta_users, okta_group_members, okta_groups, okta_app_users, okta_apps.
WITH gone AS (
    -- This model is about deleted users, so it reads users whatever their deleted_at.
    SELECT id, login, status, deleted_at
    FROM users
    WHERE status = 'DEPROVISIONED' OR deleted_at IS NOT NULL
),
access AS (
    SELECT gm.user_id, 'group_membership' AS access, g.id AS object_id, g.name AS object_name,
           NULL::text AS assignment_scope
    FROM group_members gm
    JOIN groups g ON g.id = gm.group_id AND g.deleted_at IS NULL AND g.type IS DISTINCT FROM 'BUILT_IN'
    WHERE gm.deleted_at IS NULL
    UNION ALL
    SELECT au.user_id, 'app_assignment', a.id, a.label, au.scope
    FROM app_users au
    JOIN apps a ON a.id = au.app_id AND a.deleted_at IS NULL
    WHERE au.deleted_at IS NULL
)
SELECT u.id          AS user_id,
       u.login,
       u.status      AS user_status,
       u.deleted_at  AS user_deleted_at,
       x.access,
       x.object_id,
       x.object_name,
       x.assignment_scope
FROM gone u
JOIN access x ON x.user_id = u.id
