-- Policy rules; a re-read policy's rules are upserted and vanished ones marked in deleted_at.
CREATE TABLE IF NOT EXISTS policy_rules (
    id                       text NOT NULL,
    policy_id                text NOT NULL,
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
CREATE INDEX IF NOT EXISTS policy_rules_policy_idx ON policy_rules (policy_id);
