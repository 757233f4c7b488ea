-- Find live {table} rows whose {column} names no live {ref_table} row (missing or deleted). Read-only.
SELECT count(*)                                              AS dangling,
       (array_agg(c.{column} ORDER BY c.{column}))[1:5]      AS examples
FROM {table} c
WHERE c.deleted_at IS NULL
  AND NOT EXISTS (
      SELECT 1 FROM {ref_table} r WHERE r.id = c.{column} AND r.deleted_at IS NULL
  )
