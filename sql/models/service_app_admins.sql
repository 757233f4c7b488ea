-- Apps that act as admins: one row per app and admin role assigned to its OAuth client (API
-- service apps, `application_type` service), with the groups the role is limited to (no targets:
-- not limited to groups) and, for APP_ADMIN, the apps: instances (`target_app_ids`, with their
-- labels) and OIN catalog apps whose every instance it covers (`target_catalog_apps`). A CUSTOM
-- role: the permissions of its custom role, and the resource set it is bound to (its label, the
-- ORNs of what it holds and, in the same order, what they name: resource_set_scope).
-- From okta_client_roles, okta_client_role_targets, okta_client_role_app_targets, okta_apps,
-- okta_groups, okta_custom_role_permissions, okta_resource_sets, and the resource_set_scope model.
WITH targets AS (
    SELECT t.client_app_id, t.role_id,
           array_agg(t.target_group_id ORDER BY t.target_group_id) AS target_group_ids,
           array_agg(tg.name ORDER BY t.target_group_id)           AS target_group_names
    FROM client_role_targets t
    JOIN groups tg ON tg.id = t.target_group_id AND tg.deleted_at IS NULL
    WHERE t.deleted_at IS NULL
    GROUP BY t.client_app_id, t.role_id
),
app_targets AS (
    -- An instance target whose app is gone from the apps table limits the role to nothing.
    SELECT t.client_app_id, t.role_id,
           array_agg(t.app_id ORDER BY t.app_id) FILTER (WHERE a.id IS NOT NULL)     AS target_app_ids,
           array_agg(a.label ORDER BY t.app_id) FILTER (WHERE a.id IS NOT NULL)      AS target_app_labels,
           array_agg(t.app_name ORDER BY t.app_name) FILTER (WHERE t.app_id IS NULL) AS target_catalog_apps
    FROM client_role_app_targets t
    LEFT JOIN apps a ON a.id = t.app_id AND a.deleted_at IS NULL
    WHERE t.deleted_at IS NULL
    GROUP BY t.client_app_id, t.role_id
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
SELECT a.id                     AS app_id,
       a.label                  AS app_label,
       a.status                 AS app_status,
       cr.client_id,
       a.oauth_application_type AS application_type,
       cr.role_id,
       cr.role_type,
       cr.label                 AS role_label,
       cr.status                AS role_status,
       coalesce(t.target_group_ids, '{}'::text[])     AS target_group_ids,
       coalesce(t.target_group_names, '{}'::text[])   AS target_group_names,
       coalesce(at.target_app_ids, '{}'::text[])      AS target_app_ids,
       coalesce(at.target_app_labels, '{}'::text[])   AS target_app_labels,
       coalesce(at.target_catalog_apps, '{}'::text[]) AS target_catalog_apps,
       cr.custom_role_id,
       coalesce(rp.permissions, '{}'::text[])         AS permissions,
       cr.resource_set_id,
       rs.label                                       AS resource_set_label,
       coalesce(sr.orns, '{}'::text[])                AS resource_orns,
       coalesce(sr.descriptions, '{}'::text[])        AS resource_descriptions
FROM client_roles cr
JOIN apps a                   ON a.id = cr.app_id AND a.deleted_at IS NULL
LEFT JOIN targets t           ON t.client_app_id = cr.app_id AND t.role_id = cr.role_id
LEFT JOIN app_targets at      ON at.client_app_id = cr.app_id AND at.role_id = cr.role_id
LEFT JOIN role_permissions rp ON rp.custom_role_id = cr.custom_role_id
LEFT JOIN resource_sets rs    ON rs.id = cr.resource_set_id AND rs.deleted_at IS NULL
LEFT JOIN set_resources sr    ON sr.resource_set_id = rs.id
WHERE cr.deleted_at IS NULL
