-- Schemas created before custom role assignments kept their role and resource set (see
-- 029_group_roles.sql, 033_user_roles.sql): add the columns; the next reconciliation fills them.
ALTER TABLE group_roles ADD COLUMN IF NOT EXISTS custom_role_id text;
ALTER TABLE group_roles ADD COLUMN IF NOT EXISTS resource_set_id text;
ALTER TABLE user_roles ADD COLUMN IF NOT EXISTS custom_role_id text;
ALTER TABLE user_roles ADD COLUMN IF NOT EXISTS resource_set_id text;
