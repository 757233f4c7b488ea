-- What each resource set holds, one row per resource named by its ORN
-- (orn:<partition>:directory:<org>:groups:<id>[:contained_resources], ...:users, ...); replaced with
-- the set's child_sync row.
CREATE TABLE IF NOT EXISTS resource_set_resources (
    resource_set_id          text NOT NULL,
    id                       text NOT NULL,
    orn                      text,
    created                  timestamptz,
    last_updated             timestamptz,
    raw                      jsonb NOT NULL,
    deleted_at               timestamptz,
    synced_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resource_set_id, id)
);
