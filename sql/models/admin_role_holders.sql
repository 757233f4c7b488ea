-- Who holds admin roles and over what: one row per user and role, `via` 'direct' for a role
-- assigned to the user (group_id NULL) or 'group' for a role held by a group they are in, with
-- the groups the role is limited to (no targets: the role is not limited to groups) and, for
-- APP_ADMIN, the apps: instances (`target_app_ids`, with their labels) and OIN catalog apps whose
-- every instance it covers (`target_catalog_apps`); an APP_ADMIN role with neither covers all apps.
-- A CUSTOM role: the permissions of its custom role, and the resource set it is bound to (its
-- label, the ORNs of what it holds and, in the same order, what they name: resource_set_scope).
-- Deactivated (DEPROVISIONED) users hold nothing while deactivated (see deprovisioned_with_access).
-- From okta_role_assigned_users, okta_user_roles, okta_user_role_targets,
-- okta_user_role_app_targets, okta_group_roles, okta_group_role_targets,
-- okta_group_role_app_targets, okta_custom_role_permissions, okta_resource_sets, okta_groups,
-- okta_group_members, okta_apps, okta_users, and the resource_set_scope model.
WITH roles AS (
    SELECT gm.user_id, 'group' AS via, gr.group_id, g.name AS group_name,
           gr.role_id, gr.role_type, gr.label, gr.status, gr.custom_role_id, gr.resource_set_id
    FROM group_roles gr
    JOIN groups g         ON g.id = gr.group_id AND g.deleted_at IS NULL
    JOIN group_members gm ON gm.group_id = gr.group_id AND gm.deleted_at IS NULL
    WHERE gr.deleted_at IS NULL
    UNION ALL
    SELECT ur.user_id, 'direct', NULL, NULL, ur.role_id, ur.role_type, ur.label, ur.status, ur.custom_role_id,
           ur.resource_set_id
    FROM user_roles ur
    JOIN role_assigned_users a ON a.id = ur.user_id AND a.deleted_at IS NULL
    WHERE ur.deleted_at IS NULL
),
targets AS (
    SELECT 'group' AS via, t.group_id AS assignee_id, t.role_id,
           array_agg(t.target_group_id ORDER BY t.target_group_id) AS target_group_ids,
           array_agg(tg.name ORDER BY t.target_group_id)           AS target_group_names
    FROM group_role_targets t
    JOIN groups tg ON tg.id = t.target_group_id AND tg.deleted_at IS NULL
    WHERE t.deleted_at IS NULL
    GROUP BY t.group_id, t.role_id
    UNION ALL
    SELECT 'direct', t.user_id, t.role_id,
           array_agg(t.target_group_id ORDER BY t.target_group_id),
           array_agg(tg.name ORDER BY t.target_group_id)
    FROM user_role_targets t
    JOIN groups tg ON tg.id = t.target_group_id AND tg.deleted_at IS NULL
    WHERE t.deleted_at IS NULL
    GROUP BY t.user_id, t.role_id
),
app_targets AS (
    SELECT 'group' AS via, t.group_id AS assignee_id, t.role_id, t.app_id, t.app_name,
           a.label, a.id IS NOT NULL AS app_live
    FROM group_role_app_targets t
    LEFT JOIN apps a ON a.id = t.app_id AND a.deleted_at IS NULL
    WHERE t.deleted_at IS NULL
    UNION ALL
    SELECT 'direct', t.user_id, t.role_id, t.app_id, t.app_name, a.label, a.id IS NOT NULL
    FROM user_role_app_targets t
    LEFT JOIN apps a ON a.id = t.app_id AND a.deleted_at IS NULL
    WHERE t.deleted_at IS NULL
),
app_target_lists AS (
    -- An instance target whose app is gone from the apps table limits the role to nothing.
    SELECT via, assignee_id, role_id,
           array_agg(app_id ORDER BY app_id) FILTER (WHERE app_live)           AS target_app_ids,
           array_agg(label ORDER BY app_id) FILTER (WHERE app_live)            AS target_app_labels,
           array_agg(app_name ORDER BY app_name) FILTER (WHERE app_id IS NULL) AS target_catalog_apps
    FROM app_targets
    GROUP BY via, assignee_id, role_id
),
role_permissions AS (
    SELECT custom_role_id, array_agg(permission ORDER BY permission) AS permissions
    FROM custom_role_permissions
    WHERE deleted_at IS NULL
    GROUP BY custom_role_id
),
set_resources AS (
    SELECT resource_set_id, array_agg(orn ORDER BY orn) AS orns, array_agg(description ORDER BY orn) AS descriptions
    FROM resource_set_scope
    GROUP BY resource_set_id
)
SELECT u.id          AS user_id,
       u.login,
       u.status      AS user_status,
       r.via,
       r.group_id,
       r.group_name,
       r.role_id,
       r.role_type,
       r.label       AS role_label,
       r.status      AS role_status,
       coalesce(t.target_group_ids, '{}'::text[])     AS target_group_ids,
       coalesce(t.target_group_names, '{}'::text[])   AS target_group_names,
       coalesce(at.target_app_ids, '{}'::text[])      AS target_app_ids,
       coalesce(at.target_app_labels, '{}'::text[])   AS target_app_labels,
       coalesce(at.target_catalog_apps, '{}'::text[]) AS target_catalog_apps,
       r.custom_role_id,
       coalesce(rp.permissions, '{}'::text[])         AS permissions,
       r.resource_set_id,
       rs.label                                       AS resource_set_label,
       coalesce(sr.orns, '{}'::text[])                AS resource_orns,
       coalesce(sr.descriptions, '{}'::text[])        AS resource_descriptions
FROM roles r
JOIN users u                  ON u.id = r.user_id AND u.deleted_at IS NULL
                             AND u.status IS DISTINCT FROM 'DEPROVISIONED'
LEFT JOIN targets t           ON t.via = r.via AND t.role_id = r.role_id
                             AND t.assignee_id = coalesce(r.group_id, r.user_id)
LEFT JOIN app_target_lists at ON at.via = r.via AND at.role_id = r.role_id
                             AND at.assignee_id = coalesce(r.group_id, r.user_id)
LEFT JOIN role_permissions rp ON rp.custom_role_id = r.custom_role_id
LEFT JOIN resource_sets rs    ON rs.id = r.resource_set_id AND rs.deleted_at IS NULL
LEFT JOIN set_resources sr    ON sr.resource_set_id = rs.id
