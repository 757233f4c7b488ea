-- Active users with no sign-in for dormant_days days (config, 90 by default): the last sign-in is the
-- later of the user's lastLogin and their last successful user.session.start in the System Log.
-- A user who never signed in is dormant once activated (or created) that long ago. "Active" means
-- activated and not suspended or deactivated: ACTIVE, PASSWORD_EXPIRED, LOCKED_OUT, RECOVERY.
-- From okta_users, okta_log_events and the tenant_users model.
WITH params AS (
    SELECT coalesce(CAST(:as_of AS timestamptz), now()) AS as_of,
           CAST(:dormant_days AS integer)               AS days
),
last_event AS (
    SELECT e.actor_id AS user_id, max(e.published) AS last_sign_in_event
    FROM log_events e
    WHERE e.event_type = 'user.session.start' AND e.outcome_result = 'SUCCESS'
    GROUP BY e.actor_id
),
tenancy AS (
    SELECT user_id, array_agg(tenant_id ORDER BY tenant_id) AS tenant_ids
    FROM tenant_users
    GROUP BY user_id
),
candidates AS (
    SELECT u.id, u.login, u.email, u.status, u.created, u.activated, u.last_login,
           le.last_sign_in_event,
           -- greatest() ignores NULLs: either source alone is enough.
           greatest(u.last_login, le.last_sign_in_event) AS last_sign_in
    FROM users u
    LEFT JOIN last_event le ON le.user_id = u.id
    WHERE u.deleted_at IS NULL
      AND u.status IN ('ACTIVE', 'PASSWORD_EXPIRED', 'LOCKED_OUT', 'RECOVERY')
)
SELECT c.id AS user_id,
       c.login,
       c.email,
       c.status,
       c.created,
       c.activated,
       c.last_login,
       c.last_sign_in_event,
       c.last_sign_in,
       c.last_sign_in IS NULL                                            AS never_signed_in,
       floor(extract(epoch FROM p.as_of - c.last_sign_in) / 86400)::int AS days_since_sign_in,
       coalesce(t.tenant_ids, '{}'::text[])                             AS tenant_ids,
       p.days                                                           AS threshold_days,
       p.as_of
FROM candidates c
CROSS JOIN params p
LEFT JOIN tenancy t ON t.user_id = c.id
WHERE coalesce(c.last_sign_in, c.activated, c.created, '-infinity') < p.as_of - make_interval(days => p.days)
