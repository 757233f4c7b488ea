-- Apps the APP_ADMIN role of an app's OAuth client (`client_app_id`) is limited to; replaced with
-- the role's child_sync row. `target` is the app instance id, or the OIN catalog name where the
-- target is every instance of that app (`app_id` NULL). A role with no rows here covers every app.
CREATE TABLE IF NOT EXISTS client_role_app_targets (
    client_app_id            text NOT NULL,
    client_id                text NOT NULL,
    role_id                  text NOT NULL,
    target                   text NOT NULL,
    app_name                 text,
    app_id                   text,
    display_name             text,
    raw                      jsonb NOT NULL,
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_app_id, role_id, target)
);
CREATE INDEX IF NOT EXISTS client_role_app_targets_app_idx ON client_role_app_targets (app_id);
