-- Policies of every type the org has; read whole each run, vanished ones marked in deleted_at.
CREATE TABLE IF NOT EXISTS policies (
    id                       text NOT NULL,
    type                     text,
    name                     text,
    status                   text,
    priority                 integer,
    system                   boolean,
    created                  timestamptz,
    last_updated             timestamptz,
    raw                      jsonb NOT NULL,
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS policies_type_idx ON policies (type);
