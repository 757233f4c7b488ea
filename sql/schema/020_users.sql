-- Okta users, DEPROVISIONED included. Upserted by id, incremental by lastUpdated; deleted_at set
-- by delete events and reconciliation.
CREATE TABLE IF NOT EXISTS users (
    id                       text NOT NULL,
    status                   text,
    login                    text,
    email                    text,
    first_name               text,
    last_name                text,
    user_type_id             text,
    created                  timestamptz,
    activated                timestamptz,
    status_changed           timestamptz,
    last_login               timestamptz,
    last_updated             timestamptz,
    password_changed         timestamptz,
    raw                      jsonb NOT NULL,
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS users_login_idx ON users (login);
CREATE INDEX IF NOT EXISTS users_status_idx ON users (status);
CREATE INDEX IF NOT EXISTS users_last_updated_idx ON users (last_updated);
