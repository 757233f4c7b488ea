-- Okta applications; read whole each run, upserted by id, vanished apps marked in deleted_at.
CREATE TABLE IF NOT EXISTS apps (
    id                       text NOT NULL,
    name                     text,
    label                    text,
    status                   text,
    sign_on_mode             text,
    oauth_client_id          text,
    oauth_application_type   text,
    created                  timestamptz,
    last_updated             timestamptz,
    raw                      jsonb NOT NULL,
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);
-- Schemas created before apps kept their OAuth client: add the columns; the next run fills them.
ALTER TABLE apps ADD COLUMN IF NOT EXISTS oauth_client_id text;
ALTER TABLE apps ADD COLUMN IF NOT EXISTS oauth_application_type text;
