-- The tenant's Okta System Log, one row per event; uuid makes re-reads of a page idempotent.
-- `raw` is json, not jsonb: building jsonb was most of Postgres's cost per event (about 55 of
-- 125 us on the benchmark machine) and the models read `raw` only for a few event types.
CREATE TABLE IF NOT EXISTS log_events (
    uuid                text PRIMARY KEY,
    published           timestamptz NOT NULL,
    event_type          text NOT NULL,
    severity            text,
    display_message     text,
    actor_id            text,
    actor_alternate_id  text,
    client_ip           text,
    outcome_result      text,
    outcome_reason      text,
    transaction_id      text,
    raw                 json NOT NULL,
    ingested_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS log_events_published_idx ON log_events (published);
CREATE INDEX IF NOT EXISTS log_events_type_published_idx ON log_events (event_type, published);
CREATE INDEX IF NOT EXISTS log_events_actor_idx ON log_events (actor_id);
-- The state loaders read the events ingested since their last run (delete and refresh events)
-- each run; ingested_at grows with the table, so a BRIN index finds them for almost no upkeep.
CREATE INDEX IF NOT EXISTS log_events_ingested_at_brin ON log_events USING brin (ingested_at);
