-- Custom admin roles: the custom_role_id of CUSTOM role assignments (group_roles, user_roles).
CREATE TABLE IF NOT EXISTS custom_roles (
    id                       text PRIMARY KEY,
    label                    text,
    description              text,
    created                  timestamptz,
    last_updated             timestamptz,
    raw                      jsonb NOT NULL,
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now()
);
