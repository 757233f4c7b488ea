-- Per child stream and parent (a group, an app, a policy, a role): the parent's version token (see
-- ChildOf.version in okta/endpoints.py) as of the last read of its children, written in the same
-- transaction as those children, so a run that dies part-way resumes with the parents it had not
-- finished. `dirty`: a System Log event named the parent since. `synced_at` older than the start
-- of a reconciliation: not yet reconciled.
CREATE TABLE IF NOT EXISTS child_sync (
    stream          text NOT NULL,
    parent_key      text[] NOT NULL,
    parent_version  text,
    dirty           boolean NOT NULL DEFAULT false,
    synced_at       timestamptz,
    PRIMARY KEY (stream, parent_key)
);
