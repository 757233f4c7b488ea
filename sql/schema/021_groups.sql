-- Okta groups. Upserted by id, incremental by lastUpdated/lastMembershipUpdated; deleted_at set
-- by delete events and reconciliation.
CREATE TABLE IF NOT EXISTS groups (
    id                       text NOT NULL,
    type                     text,
    name                     text,
    description              text,
    created                  timestamptz,
    last_updated             timestamptz,
    last_membership_updated  timestamptz,
    raw                      jsonb NOT NULL,
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS groups_name_idx ON groups (name);
