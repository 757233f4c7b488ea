-- Per-stream marks (a published/lastUpdated high-water mark and Okta's next link). Each mark is
-- written in the same transaction as the rows it covers, so it can never run ahead of the data.
CREATE TABLE IF NOT EXISTS ingest_marks (
    stream      text PRIMARY KEY,
    mark        timestamptz,
    cursor      text,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
