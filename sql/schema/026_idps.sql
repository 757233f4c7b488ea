-- Identity providers; read whole each run, upserted by id, vanished ones marked in deleted_at.
CREATE TABLE IF NOT EXISTS idps (
    id                       text NOT NULL,
    type                     text,
    name                     text,
    status                   text,
    created                  timestamptz,
    last_updated             timestamptz,
    raw                      jsonb NOT NULL,
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);
