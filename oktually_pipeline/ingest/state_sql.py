"""The state loader's SQL, generated from the endpoint declarations.

Only identifiers come from the declarations (code constants, never input); every value is bound.
All statements run with search_path set to the tenant's schema, so table names are unqualified.
"""

from __future__ import annotations

from functools import cache

from oktually_pipeline.okta.endpoints import BY_TABLE, Endpoint, EventTrigger


def stage_name(ep: Endpoint) -> str:
    return f"_stage_{ep.table}"


def staged_columns(ep: Endpoint) -> tuple[str, ...]:
    return (*ep.all_columns, "raw")


@cache
def create_stage(ep: Endpoint) -> str:
    # Session-local and emptied at every commit; LIKE copies NOT NULLs and defaults, not the key.
    return (f"CREATE TEMP TABLE IF NOT EXISTS {stage_name(ep)} (LIKE {ep.table} INCLUDING DEFAULTS) "
            "ON COMMIT DELETE ROWS")


@cache
def upsert(ep: Endpoint) -> str:
    """Staged rows into the table; a row that reappears clears `deleted_at`."""
    cols = staged_columns(ep)
    key = ", ".join(ep.key)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c not in ep.key)
    return (
        f"INSERT INTO {ep.table} AS t ({', '.join(cols)}, synced_at, deleted_at) "
        f"SELECT DISTINCT ON ({key}) {', '.join(cols)}, now(), NULL FROM {stage_name(ep)} "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}, synced_at = now(), deleted_at = NULL"
    )


@cache
def sweep(ep: Endpoint) -> str:
    """After a complete read: rows it did not touch are gone from Okta."""
    sql = (f"UPDATE {ep.table} SET deleted_at = now() "
           "WHERE deleted_at IS NULL AND synced_at < :run_start")
    if ep.fan_out_column:
        # Only the slices Okta answered: a refused policy type proves nothing about its rows.
        sql += f" AND {ep.fan_out_column} = ANY(:slices)"
    return sql


def _like_patterns(trigger: EventTrigger) -> list[str]:
    out = []
    for t in trigger.event_types:
        escaped = t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        out.append(escaped[:-1] + "%" if escaped.endswith("*") else escaped)
    return out


# Objects named by System Log events ingested in (since, until]; `target` may be null or absent.
_EVENT_TARGETS = """
SELECT tg->>'id' AS id, max(e.published) AS published
FROM log_events e
-- raw is json: each -> parses the event's text again, so `target` is taken out once.
CROSS JOIN LATERAL (SELECT e.raw->'target' AS target) t
CROSS JOIN LATERAL json_array_elements(
    CASE WHEN json_typeof(t.target) = 'array' THEN t.target ELSE '[]'::json END) tg
WHERE e.ingested_at > :since AND e.ingested_at <= :until
  AND e.event_type LIKE ANY(:patterns)
  AND tg->>'type' = ANY(:target_types) AND tg->>'id' IS NOT NULL
GROUP BY 1
"""


def event_params(trigger: EventTrigger) -> dict[str, object]:
    return {"patterns": _like_patterns(trigger), "target_types": list(trigger.target_types)}


@cache
def mark_deleted_by_events(ep: Endpoint) -> str:
    (key,) = ep.key
    return (f"UPDATE {ep.table} t SET deleted_at = ev.published FROM ({_EVENT_TARGETS}) ev "
            f"WHERE t.{key} = ev.id AND t.deleted_at IS NULL")


def _parent_key_array(ep: Endpoint, alias: str) -> str:
    assert ep.child_of
    return "ARRAY[" + ", ".join(f"{alias}.{pc}" for _, pc in ep.child_of.bind) + "]::text[]"


def _parent_is_top_level(ep: Endpoint) -> bool:
    assert ep.child_of
    return BY_TABLE[ep.child_of.parent].child_of is None


@cache
def mark_dirty_by_events(ep: Endpoint) -> str:
    co = ep.child_of
    assert co and co.refresh_events and len(co.bind) == 1
    (_, pcol), = co.bind
    return (
        f"INSERT INTO child_sync (stream, parent_key, dirty) "
        f"SELECT :stream, {_parent_key_array(ep, 'p')}, true FROM {co.parent} p "
        f"JOIN ({_EVENT_TARGETS}) ev ON p.{pcol} = ev.id WHERE p.deleted_at IS NULL "
        "ON CONFLICT (stream, parent_key) DO UPDATE SET dirty = true"
    )


@cache
def parents_to_read(ep: Endpoint) -> str:
    """Parents whose children are new, stale (version token moved), dirty, or not yet reconciled."""
    co = ep.child_of
    assert co
    cols = ", ".join(f"p.{pc} AS {c}" for c, pc in co.bind)
    stale = [
        "s.stream IS NULL", "s.dirty", "s.synced_at IS NULL",
        "(CAST(:reconcile_since AS timestamptz) IS NOT NULL AND s.synced_at < :reconcile_since)",
    ]
    if co.version:
        stale.append(f"s.parent_version IS DISTINCT FROM ({co.version})")
    where = f" AND ({co.where})" if co.where else ""
    return (
        f"SELECT {cols} FROM {co.parent} p "
        f"LEFT JOIN child_sync s ON s.stream = :stream AND s.parent_key = {_parent_key_array(ep, 'p')} "
        f"WHERE p.deleted_at IS NULL{where} AND ({' OR '.join(stale)}) "
        f"ORDER BY {', '.join(str(i + 1) for i in range(len(co.bind)))}"
    )


@cache
def upsert_sync(ep: Endpoint) -> str:
    """Record a parent's children as read, with its version token as the tables show it now (in
    the transaction that wrote the children)."""
    co = ep.child_of
    assert co
    version = co.version or "NULL::text"
    match = " AND ".join(f"p.{pc} = :{c}" for c, pc in co.bind)
    return (
        "INSERT INTO child_sync (stream, parent_key, parent_version, dirty, synced_at) "
        f"SELECT :stream, CAST(:parent_key AS text[]), {version}, false, now() FROM {co.parent} p WHERE {match} "
        "ON CONFLICT (stream, parent_key) DO UPDATE SET "
        "parent_version = EXCLUDED.parent_version, dirty = false, synced_at = now()"
    )


def _parent_alive(ep: Endpoint, alias: str) -> str:
    co = ep.child_of
    assert co
    match = " AND ".join(f"p.{pc} = {alias}.{c}" for c, pc in co.bind)
    where = f" AND ({co.where})" if co.where else ""
    return f"EXISTS (SELECT 1 FROM {co.parent} p WHERE {match} AND p.deleted_at IS NULL{where})"


@cache
def remove_orphans(ep: Endpoint) -> str:
    """Children of parents that are gone (deleted, or no longer able to have them)."""
    co = ep.child_of
    assert co
    if co.on_vanish == "mark":
        return (f"UPDATE {ep.table} c SET deleted_at = now() "
                f"WHERE c.deleted_at IS NULL AND NOT {_parent_alive(ep, 'c')}")
    return f"DELETE FROM {ep.table} c WHERE NOT {_parent_alive(ep, 'c')}"


@cache
def remove_orphan_syncs(ep: Endpoint) -> str:
    co = ep.child_of
    assert co
    match = " AND ".join(f"p.{pc} = s.parent_key[{i + 1}]" for i, (_, pc) in enumerate(co.bind))
    return (f"DELETE FROM child_sync s WHERE s.stream = :stream AND NOT EXISTS "
            f"(SELECT 1 FROM {co.parent} p WHERE {match} AND p.deleted_at IS NULL)")


def remove_deleted_refs(ep: Endpoint) -> list[str]:
    """Rows pointing at an object Okta deleted (a deleted user leaves every group and app)."""
    return [f"DELETE FROM {ep.table} c USING {ref} r WHERE c.{col} = r.id AND r.deleted_at IS NOT NULL"
            for col, ref in ep.refs]


@cache
def vanish(ep: Endpoint) -> str:
    """After a parent's children were re-read and upserted: those Okta no longer lists."""
    co = ep.child_of
    assert co
    scope = " AND ".join(f"c.{c} = :{c}" for c in ep.bound_columns)
    absent = ("NOT EXISTS (SELECT 1 FROM " + stage_name(ep) + " s WHERE "
              + " AND ".join(f"s.{k} = c.{k}" for k in ep.key) + ")")
    if co.on_vanish == "mark":
        return f"UPDATE {ep.table} c SET deleted_at = now() WHERE {scope} AND c.deleted_at IS NULL AND {absent}"
    return f"DELETE FROM {ep.table} c WHERE {scope} AND {absent}"


@cache
def remove_children_of(ep: Endpoint) -> str:
    scope = " AND ".join(f"c.{c} = :{c}" for c in ep.bound_columns)
    if ep.child_of and ep.child_of.on_vanish == "mark":
        return f"UPDATE {ep.table} c SET deleted_at = now() WHERE {scope} AND c.deleted_at IS NULL"
    return f"DELETE FROM {ep.table} c WHERE {scope}"


@cache
def mark_parent_gone(ep: Endpoint) -> str | None:
    """A 404 on a parent's children means the parent is gone; only top-level parents are marked."""
    co = ep.child_of
    assert co
    if not _parent_is_top_level(ep):
        return None
    match = " AND ".join(f"{pc} = :{c}" for c, pc in co.bind)
    return f"UPDATE {co.parent} SET deleted_at = now() WHERE {match} AND deleted_at IS NULL"


DELETE_SYNC = "DELETE FROM child_sync WHERE stream = :stream AND parent_key = :parent_key"
