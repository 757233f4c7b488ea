-- What each custom role may do, one row per permission label (okta.users.read, ...); any
-- conditions are in raw. Replaced with the role's child_sync row.
CREATE TABLE IF NOT EXISTS custom_role_permissions (
    custom_role_id           text NOT NULL,
    permission               text NOT NULL,
    created                  timestamptz,
    last_updated             timestamptz,
    raw                      jsonb NOT NULL,
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (custom_role_id, permission)
);
