-- Every user's effective apps, one row per path: assigned directly (via 'direct') or through a
-- group assigned to the app (via 'group', with the group), and the path as text. Deactivated
-- (DEPROVISIONED) users have no effective access: what they still hold is in deprovisioned_with_access.
-- From okta_users, okta_apps, okta_app_users, okta_app_groups, okta_groups, okta_group_members.
WITH direct AS (
    -- app_users also lists group-derived assignments (scope GROUP); their paths come from
    -- app_groups below, where the group is known.
    SELECT au.user_id, au.app_id, 'direct' AS via, NULL::text AS group_id
    FROM app_users au
    WHERE au.deleted_at IS NULL AND au.scope = 'USER'
),
through_groups AS (
    SELECT gm.user_id, ag.app_id, 'group' AS via, ag.group_id
    FROM app_groups ag
    JOIN group_members gm ON gm.group_id = ag.group_id AND gm.deleted_at IS NULL
    WHERE ag.deleted_at IS NULL
),
paths AS (
    SELECT * FROM direct
    UNION
    SELECT * FROM through_groups
)
SELECT p.user_id,
       u.login,
       u.status   AS user_status,
       p.app_id,
       a.label    AS app_label,
       a.status   AS app_status,
       p.via,
       p.group_id,
       g.name     AS group_name,
       CASE WHEN p.via = 'direct' THEN 'direct assignment'
            ELSE 'member of ' || g.name || ' (assigned to the app)' END AS path
FROM paths p
JOIN users u    ON u.id = p.user_id AND u.deleted_at IS NULL AND u.status IS DISTINCT FROM 'DEPROVISIONED'
JOIN apps a     ON a.id = p.app_id AND a.deleted_at IS NULL
LEFT JOIN groups g ON g.id = p.group_id AND g.deleted_at IS NULL
-- A path through a group that is gone is no path.
WHERE p.via = 'direct' OR g.id IS NOT NULL
