-- Find keys held by more than one row of {table} ({key}); NULLs compare equal. Read-only.
SELECT count(*)                                 AS duplicate_keys,
       coalesce(sum(n), 0)                      AS rows_involved,
       (array_agg(key_text ORDER BY key_text))[1:5] AS examples
FROM (
    SELECT row({key})::text AS key_text, count(*) AS n
    FROM {table}
    GROUP BY {key}
    HAVING count(*) > 1
) d
