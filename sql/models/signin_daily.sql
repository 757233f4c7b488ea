-- Sign-ins per UTC day and customer tenant: successful sign-ins (user.session.start), failures by
-- reason, distinct users, and MFA use (user.authentication.auth_via_mfa). An actor's tenant is the
-- tenant whose USERS_ group they are in now; an actor in several tenants counts in each, one in
-- none (or not a user) under a NULL tenant.
-- From okta_log_events and the tenant_users model.
WITH events AS (
    -- Uses log_events (event_type, published); one row per day, actor and outcome from here on,
    -- so the join to tenants multiplies few rows.
    SELECT (e.published AT TIME ZONE 'UTC')::date AS day,
           e.actor_id,
           CASE WHEN e.event_type = 'user.session.start' THEN 'sign_in' ELSE 'mfa' END AS kind,
           -- Policy blocks are DENY, bad credentials FAILURE: both are failed attempts.
           CASE WHEN e.outcome_result = 'SUCCESS' THEN 'success'
                WHEN e.outcome_result IN ('FAILURE', 'DENY') THEN 'failure' END AS result,
           coalesce(e.outcome_reason, e.outcome_result, 'UNKNOWN') AS reason,
           count(*) AS n
    FROM log_events e
    WHERE e.event_type IN ('user.session.start', 'user.authentication.auth_via_mfa')
    GROUP BY 1, 2, 3, 4, 5
),
attributed AS (
    -- Tenant ids are IdP ids, never empty: '' stands for "no tenant" so the joins below can hash.
    SELECT ev.*, coalesce(tu.tenant_id, '') AS tenant_key, tu.tenant_name
    FROM events ev
    LEFT JOIN tenant_users tu ON tu.user_id = ev.actor_id
),
failure_reasons AS (
    SELECT day, tenant_key, jsonb_object_agg(reason, n ORDER BY reason) AS failures_by_reason
    FROM (
        SELECT day, tenant_key, reason, sum(n)::bigint AS n
        FROM attributed
        WHERE kind = 'sign_in' AND result = 'failure'
        GROUP BY day, tenant_key, reason
    ) r
    GROUP BY day, tenant_key
),
daily AS (
    SELECT day,
           tenant_key,
           min(tenant_name) AS tenant_name,
           coalesce(sum(n) FILTER (WHERE kind = 'sign_in' AND result = 'success'), 0)::bigint AS sign_ins,
           coalesce(sum(n) FILTER (WHERE kind = 'sign_in' AND result = 'failure'), 0)::bigint AS failed_sign_ins,
           count(DISTINCT actor_id) FILTER (WHERE kind = 'sign_in' AND result = 'success')   AS distinct_users,
           coalesce(sum(n) FILTER (WHERE kind = 'mfa' AND result = 'success'), 0)::bigint     AS mfa_verifications,
           coalesce(sum(n) FILTER (WHERE kind = 'mfa' AND result = 'failure'), 0)::bigint     AS mfa_failures,
           count(DISTINCT actor_id) FILTER (WHERE kind = 'mfa' AND result = 'success')       AS mfa_users
    FROM attributed
    GROUP BY day, tenant_key
)
SELECT d.day,
       nullif(d.tenant_key, '') AS tenant_id,
       d.tenant_name,
       d.sign_ins,
       d.failed_sign_ins,
       coalesce(f.failures_by_reason, '{}'::jsonb) AS failures_by_reason,
       d.distinct_users,
       d.mfa_verifications,
       d.mfa_failures,
       d.mfa_users
FROM daily d
LEFT JOIN failure_reasons f ON f.day = d.day AND f.tenant_key = d.tenant_key
