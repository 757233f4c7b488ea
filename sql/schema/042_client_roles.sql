-- Admin roles assigned to apps' OAuth clients (API service apps), keyed (app_id, role_id);
-- client_id is the app's OAuth client, the id Okta's client role routes take.
CREATE TABLE IF NOT EXISTS client_roles (
    app_id                   text NOT NULL,
    client_id                text NOT NULL,
    role_id                  text NOT NULL,
    role_type                text,
    label                    text,
    status                   text,
    assignment_type          text,
    custom_role_id           text,  -- CUSTOM roles: the custom role and
    resource_set_id          text,  -- the resource set it is bound to
    created                  timestamptz,
    last_updated             timestamptz,
    raw                      jsonb NOT NULL,
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app_id, role_id)
);
