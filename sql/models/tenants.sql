-- One row per customer tenant (okta-dac): the IdP, whose id is the tenant id, its name and status, the
-- ADMINS_<tenant> group with the tenantId parsed from its description JSON, the USERS_<tenant> group,
-- and counts of admins, users and entitled apps (APPUSERS_ groups for an app that exists).
-- From okta_idps, okta_groups, okta_group_members, okta_users and the tenant_app_entitlements model.
WITH tenant AS (
    SELECT id, name, type, status FROM idps WHERE deleted_at IS NULL
),
named AS (
    -- A tenant's groups are found by name; the tenant's name is its IdP's name.
    SELECT t.id AS tenant_id,
           CASE WHEN g.name = 'ADMINS_' || t.name THEN 'admins' ELSE 'users' END AS role,
           g.id, g.name, g.created,
           -- okta-dac stores {"tenantId": "<idp id>"} in the description. A regex, not a cast:
           -- a description that is not JSON must read as "no tenant id", not fail the model.
           substring(g.description FROM '"tenantId"\s*:\s*"([^"]*)"') AS described_tenant_id
    FROM tenant t
    JOIN groups g ON g.deleted_at IS NULL AND g.name IN ('ADMINS_' || t.name, 'USERS_' || t.name)
),
ranked AS (
    -- Real orgs drift into duplicates: keep the group whose tenantId matches, then the oldest.
    SELECT n.*,
           row_number() OVER w AS pick,
           count(*) OVER (PARTITION BY n.tenant_id, n.role) AS same_name
    FROM named n
    WINDOW w AS (PARTITION BY n.tenant_id, n.role
                 ORDER BY (n.described_tenant_id = n.tenant_id) IS TRUE DESC, n.created, n.id)
),
live_members AS (
    SELECT gm.group_id, count(*) AS n
    FROM group_members gm
    JOIN users u ON u.id = gm.user_id AND u.deleted_at IS NULL
    WHERE gm.deleted_at IS NULL
    GROUP BY gm.group_id
),
entitled AS (
    SELECT tenant_id, count(DISTINCT app_id) AS n
    FROM tenant_app_entitlements
    WHERE tenant_id IS NOT NULL AND app_exists
    GROUP BY tenant_id
)
SELECT t.id                                   AS tenant_id,
       t.name                                 AS tenant_name,
       t.type                                 AS idp_type,
       t.status                               AS idp_status,
       a.id                                   AS admins_group_id,
       a.name                                 AS admins_group_name,
       a.described_tenant_id                  AS admins_group_tenant_id,
       coalesce(a.described_tenant_id = t.id, false) AS admins_group_tenant_id_ok,
       u.id                                   AS users_group_id,
       u.name                                 AS users_group_name,
       coalesce(a.same_name, 0)               AS admins_group_count,
       coalesce(u.same_name, 0)               AS users_group_count,
       coalesce(am.n, 0)                      AS admin_count,
       coalesce(um.n, 0)                      AS user_count,
       coalesce(e.n, 0)                       AS entitled_app_count
FROM tenant t
LEFT JOIN ranked a       ON a.tenant_id = t.id AND a.role = 'admins' AND a.pick = 1
LEFT JOIN ranked u       ON u.tenant_id = t.id AND u.role = 'users' AND u.pick = 1
LEFT JOIN live_members am ON am.group_id = a.id
LEFT JOIN live_members um ON um.group_id = u.id
LEFT JOIN entitled e     ON e.tenant_id = t.id
