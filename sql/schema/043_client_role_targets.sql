-- Groups the scoped admin role of an app's OAuth client (`client_app_id`) is limited to; replaced
-- with the role's child_sync row.
CREATE TABLE IF NOT EXISTS client_role_targets (
    client_app_id            text NOT NULL,
    client_id                text NOT NULL,
    role_id                  text NOT NULL,
    target_group_id          text NOT NULL,
    raw                      jsonb,  -- NULL: Okta lists whole Group objects here; see groups.raw
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_app_id, role_id, target_group_id)
);
CREATE INDEX IF NOT EXISTS client_role_targets_target_idx ON client_role_targets (target_group_id);
