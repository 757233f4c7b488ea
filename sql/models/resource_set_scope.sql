-- What each resource set covers, one row per resource: its ORN taken apart and named in
-- `description`: a group, its members, every user or group, every app, every app of a type, one
-- app. The ORNs Okta's reference gives, parts joined by colons: orn, partition, directory, org id,
-- then users | groups | groups, id | groups, id, contained_resources; or orn, partition, idp, org
-- id, then apps | apps, type | apps, type, id. A resource of another kind keeps its ORN as its
-- description (`kind` other); a group or app gone from the org is named by its id, with "(gone)".
-- From okta_resource_sets, okta_resource_set_resources, okta_groups, okta_apps.
WITH parts AS (
    SELECT r.resource_set_id, r.id AS resource_id, r.orn, string_to_array(r.orn, ':') AS p
    FROM resource_set_resources r
    JOIN resource_sets s ON s.id = r.resource_set_id AND s.deleted_at IS NULL
    WHERE r.deleted_at IS NULL AND r.orn IS NOT NULL
),
kinds AS (
    SELECT resource_set_id, resource_id, orn, p,
           CASE
               WHEN p[1] <> 'orn' THEN 'other'
               WHEN p[3] = 'directory' AND p[5] = 'users' AND cardinality(p) = 5 THEN 'all_users'
               WHEN p[3] = 'directory' AND p[5] = 'groups' AND cardinality(p) = 5 THEN 'all_groups'
               WHEN p[3] = 'directory' AND p[5] = 'groups' AND cardinality(p) = 6 THEN 'group'
               WHEN p[3] = 'directory' AND p[5] = 'groups' AND cardinality(p) = 7
                    AND p[7] = 'contained_resources' THEN 'group_members'
               WHEN p[3] = 'idp' AND p[5] = 'apps' AND cardinality(p) = 5 THEN 'all_apps'
               WHEN p[3] = 'idp' AND p[5] = 'apps' AND cardinality(p) = 6 THEN 'app_type'
               WHEN p[3] = 'idp' AND p[5] = 'apps' AND cardinality(p) = 7 THEN 'app'
               ELSE 'other'
           END AS kind
    FROM parts
)
SELECT k.resource_set_id,
       k.resource_id,
       k.orn,
       k.kind,
       CASE WHEN k.kind IN ('group', 'group_members') THEN k.p[6] END AS group_id,
       g.name                                                       AS group_name,
       CASE WHEN k.kind IN ('app_type', 'app') THEN k.p[6] END      AS app_type,
       CASE WHEN k.kind = 'app' THEN k.p[7] END                     AS app_id,
       a.label                                                      AS app_label,
       CASE k.kind
           WHEN 'all_users'     THEN 'every user'
           WHEN 'all_groups'    THEN 'every group'
           WHEN 'group'         THEN 'group ' || coalesce(g.name, k.p[6] || ' (gone)')
           WHEN 'group_members' THEN 'the members of group ' || coalesce(g.name, k.p[6] || ' (gone)')
           WHEN 'all_apps'      THEN 'every app'
           WHEN 'app_type'      THEN 'every ' || k.p[6] || ' app'
           WHEN 'app'           THEN 'app ' || coalesce(a.label, k.p[7] || ' (gone)')
           ELSE k.orn
       END                                                          AS description
FROM kinds k
LEFT JOIN groups g ON k.kind IN ('group', 'group_members') AND g.id = k.p[6] AND g.deleted_at IS NULL
LEFT JOIN apps a   ON k.kind = 'app' AND a.id = k.p[7] AND a.deleted_at IS NULL
