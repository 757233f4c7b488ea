-- Group memberships. A re-read group's rows are replaced in one transaction with its child_sync
-- row; rows that vanish are deleted.
CREATE TABLE IF NOT EXISTS group_members (
    group_id                 text NOT NULL,
    user_id                  text NOT NULL,
    raw                      jsonb,  -- NULL: Okta lists whole User objects here; see users.raw
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX IF NOT EXISTS group_members_user_idx ON group_members (user_id);
