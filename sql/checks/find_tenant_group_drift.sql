-- Find customer tenants (IdPs) without exactly one ADMINS_<name> and one USERS_<name> group. Read-only.
SELECT i.id   AS tenant_id,
       i.name AS tenant_name,
       count(*) FILTER (WHERE g.name = 'ADMINS_' || i.name) AS admins_groups,
       count(*) FILTER (WHERE g.name = 'USERS_' || i.name)  AS users_groups
FROM idps i
LEFT JOIN groups g ON g.deleted_at IS NULL AND g.name IN ('ADMINS_' || i.name, 'USERS_' || i.name)
WHERE i.deleted_at IS NULL
GROUP BY i.id, i.name
HAVING count(*) FILTER (WHERE g.name = 'ADMINS_' || i.name) <> 1
    OR count(*) FILTER (WHERE g.name = 'USERS_' || i.name) <> 1
ORDER BY i.name, i.id
