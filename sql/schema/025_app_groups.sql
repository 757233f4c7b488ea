-- App group assignments; a re-read app's rows are replaced with its child_sync row.
CREATE TABLE IF NOT EXISTS app_groups (
    app_id                   text NOT NULL,
    group_id                 text NOT NULL,
    priority                 integer,
    last_updated             timestamptz,
    raw                      jsonb NOT NULL,
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app_id, group_id)
);
CREATE INDEX IF NOT EXISTS app_groups_group_idx ON app_groups (group_id);
