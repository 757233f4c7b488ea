-- One row per APPUSERS_<tenant>_<appId> group: the customer tenant and the app it names, the users it
-- grants (its members), whether that app exists and whether the group is really assigned to it.
-- From okta_groups, okta_idps, okta_apps, okta_app_groups, okta_group_members, okta_users.
WITH appusers AS (
    -- The app id is the part after the last "_": Okta app ids have none, tenant names may.
    SELECT g.id   AS group_id,
           g.name AS group_name,
           substring(g.name FROM '^APPUSERS_(.+)_[^_]+$') AS tenant_name,
           substring(g.name FROM '^APPUSERS_.+_([^_]+)$') AS app_id
    FROM groups g
    WHERE g.deleted_at IS NULL
      AND starts_with(g.name, 'APPUSERS_')
),
members AS MATERIALIZED (
    -- Only the APPUSERS_ groups' memberships (through the group_members key), aggregated once:
    -- left to the planner, the aggregate over every membership can run again per group.
    -- Deleted users are gone from Okta, whatever membership rows still say.
    SELECT gm.group_id,
           array_agg(gm.user_id ORDER BY gm.user_id) AS user_ids
    FROM appusers a
    JOIN group_members gm ON gm.group_id = a.group_id AND gm.deleted_at IS NULL
    JOIN users u ON u.id = gm.user_id AND u.deleted_at IS NULL
    GROUP BY gm.group_id
)
SELECT a.group_id,
       a.group_name,
       i.id                                AS tenant_id,
       a.tenant_name,
       a.app_id,
       app.id IS NOT NULL                  AS app_exists,
       app.label                           AS app_label,
       app.status                          AS app_status,
       ag.group_id IS NOT NULL             AS assigned_to_app,
       coalesce(cardinality(m.user_ids), 0) AS user_count,
       coalesce(m.user_ids, '{}'::text[])  AS user_ids
FROM appusers a
LEFT JOIN idps i        ON i.name = a.tenant_name AND i.deleted_at IS NULL
LEFT JOIN apps app      ON app.id = a.app_id AND app.deleted_at IS NULL
LEFT JOIN app_groups ag ON ag.app_id = app.id AND ag.group_id = a.group_id AND ag.deleted_at IS NULL
LEFT JOIN members m     ON m.group_id = a.group_id
