-- Groups a user's directly assigned scoped admin role is limited to; replaced with the role's
-- child_sync row.
CREATE TABLE IF NOT EXISTS user_role_targets (
    user_id                  text NOT NULL,
    role_id                  text NOT NULL,
    target_group_id          text NOT NULL,
    raw                      jsonb,  -- NULL: Okta lists whole Group objects here; see groups.raw
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, role_id, target_group_id)
);
CREATE INDEX IF NOT EXISTS user_role_targets_target_idx ON user_role_targets (target_group_id);
