-- Admin role grants and revocations from the System Log in the last admin_changes_days days (config)
-- (user.account.privilege.* and group.privilege.*): who changed what for whom, and which roles.
-- From okta_log_events.
WITH params AS (
    SELECT coalesce(CAST(:as_of AS timestamptz), now()) AS as_of,
           CAST(:admin_changes_days AS integer)         AS days
),
changes AS (
    SELECT e.*
    FROM log_events e, params p
    WHERE e.event_type IN ('user.account.privilege.grant', 'user.account.privilege.revoke',
                           'group.privilege.grant', 'group.privilege.revoke')
      AND e.published >= p.as_of - make_interval(days => p.days)
      AND e.published <= p.as_of
)
SELECT c.uuid,
       c.published,
       c.event_type,
       CASE WHEN c.event_type LIKE '%.grant' THEN 'grant' ELSE 'revoke' END AS change,
       c.outcome_result,
       c.actor_id,
       c.actor_alternate_id,
       t.target ->> 'type'        AS target_type,
       t.target ->> 'id'          AS target_id,
       t.target ->> 'alternateId' AS target_alternate_id,
       t.target ->> 'displayName' AS target_display_name,
       -- Okta names the roles as one comma-separated string, in debugData or the target's detailEntry.
       coalesce(c.raw #>> '{debugContext,debugData,privilegeGranted}',
                c.raw #>> '{debugContext,debugData,privilegeRevoked}',
                t.target #>> '{detailEntry,privilegeGranted}',
                t.target #>> '{detailEntry,privilegeRevoked}') AS privileges,
       c.display_message
FROM changes c
-- The first User or UserGroup target is whose privileges changed; old events have no target.
LEFT JOIN LATERAL (
    SELECT tgt AS target
    FROM json_array_elements(CASE WHEN json_typeof(c.raw -> 'target') = 'array'
                                  THEN c.raw -> 'target' ELSE '[]'::json END) WITH ORDINALITY AS x(tgt, n)
    WHERE tgt ->> 'type' IN ('User', 'UserGroup')
    ORDER BY n
    LIMIT 1
) t ON true
