-- Admin roles held by groups, keyed (group_id, role_id): standard role ids repeat across assignees.
CREATE TABLE IF NOT EXISTS group_roles (
    group_id                 text NOT NULL,
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
    PRIMARY KEY (group_id, role_id)
);
