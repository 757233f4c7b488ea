-- The okta-dac super admins: one row per member of the SUPERUSERS group.
-- From okta_groups, okta_group_members, okta_users.
SELECT g.id      AS group_id,
       u.id      AS user_id,
       u.login,
       u.email,
       u.status
FROM groups g
JOIN group_members gm ON gm.group_id = g.id AND gm.deleted_at IS NULL
JOIN users u          ON u.id = gm.user_id AND u.deleted_at IS NULL
WHERE g.deleted_at IS NULL
  AND g.name = 'SUPERUSERS'
