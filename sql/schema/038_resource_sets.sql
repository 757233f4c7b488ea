-- Resource sets: the scopes custom admin role assignments are bound to (group_roles and
-- user_roles.resource_set_id).
CREATE TABLE IF NOT EXISTS resource_sets (
    id                       text PRIMARY KEY,
    label                    text,
    description              text,
    created                  timestamptz,
    last_updated             timestamptz,
    raw                      jsonb NOT NULL,
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now()
);
