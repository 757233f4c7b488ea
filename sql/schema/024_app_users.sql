-- App user assignments, direct (scope USER) and via groups (GROUP). A re-read app's rows are
-- replaced in one transaction with its child_sync row.
CREATE TABLE IF NOT EXISTS app_users (
    app_id                   text NOT NULL,
    user_id                  text NOT NULL,
    scope                    text,
    status                   text,
    created                  timestamptz,
    last_updated             timestamptz,
    raw                      jsonb NOT NULL,
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app_id, user_id)
);
CREATE INDEX IF NOT EXISTS app_users_user_idx ON app_users (user_id);
