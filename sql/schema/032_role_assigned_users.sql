-- Users holding directly assigned admin roles (Okta's role assignees list); parents of user_roles.
CREATE TABLE IF NOT EXISTS role_assigned_users (
    id                       text NOT NULL,
    orn                      text,
    raw                      jsonb NOT NULL,
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);
