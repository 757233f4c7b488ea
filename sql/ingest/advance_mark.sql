-- Advance one stream's mark inside the transaction that wrote its rows; GREATEST keeps it monotonic.
INSERT INTO ingest_marks AS m (stream, mark, cursor, details, updated_at)
VALUES (:stream, :mark, :cursor, CAST(:details AS jsonb), now())
ON CONFLICT (stream) DO UPDATE SET
    mark       = GREATEST(m.mark, EXCLUDED.mark),
    cursor     = COALESCE(EXCLUDED.cursor, m.cursor),
    details    = m.details || EXCLUDED.details,
    updated_at = now()
