-- Okta applications; read whole each run, upserted by id, vanished apps marked in deleted_at.
CREATE TABLE IF NOT EXISTS apps (
    id                       text NOT NULL,
    name                     text,
    label                    text,
    status                   text,
    sign_on_mode             text,
    created                  timestamptz,
    last_updated             timestamptz,
    raw                      jsonb NOT NULL,
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);
