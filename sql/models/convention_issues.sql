-- Every place the org breaks the okta-dac convention, one row each: its kind, the customer tenant
-- it concerns (NULL when it spans tenants), the ids of the objects involved and a readable detail.
-- From okta_idps, okta_groups, okta_group_roles, okta_group_role_targets and the tenants,
-- tenant_admins, tenant_users and tenant_app_entitlements models.
--
-- kind                               object_ids (the sandbox's ConventionBreak.objects order)
-- idp_without_groups                 {idp id}                 no ADMINS_<tenant> and/or USERS_<tenant> group
-- admins_group_bad_tenant_id         {ADMINS_ group id, idp id}     description has no tenantId, or another id
-- appusers_unknown_app               {APPUSERS_ group id, app id}   no app has the id the name ends with
-- appusers_not_assigned              {APPUSERS_ group id, app id}   the group is not assigned to its app
-- admins_group_missing_role          {ADMINS_ group id}       no Group Admin (USER_ADMIN) role
-- admins_role_target_outside_tenant  {ADMINS_ group id, target group id}  not the tenant's own group
-- user_in_multiple_tenants           {user id}                in the USERS_ group of several tenants
-- admin_not_tenant_user              {user id, ADMINS_ group id}    a tenant admin outside USERS_<tenant>
WITH tenant_groups AS (
    -- The groups a tenant's admins may manage: its ADMINS_, USERS_ and APPUSERS_ groups.
    SELECT tenant_id, admins_group_id AS group_id FROM tenants WHERE admins_group_id IS NOT NULL
    UNION
    SELECT tenant_id, users_group_id FROM tenants WHERE users_group_id IS NOT NULL
    UNION
    SELECT tenant_id, group_id FROM tenant_app_entitlements WHERE tenant_id IS NOT NULL
),
group_admin_roles AS (
    SELECT gr.group_id, gr.role_id
    FROM group_roles gr
    WHERE gr.deleted_at IS NULL AND gr.role_type = 'USER_ADMIN'
),
issues AS (
    SELECT 'idp_without_groups' AS kind, t.tenant_id, ARRAY[t.tenant_id] AS object_ids,
           'IdP ' || t.tenant_name || ' has no '
           || concat_ws(' and ', CASE WHEN t.admins_group_id IS NULL THEN 'ADMINS_' || t.tenant_name END,
                                 CASE WHEN t.users_group_id IS NULL THEN 'USERS_' || t.tenant_name END)
           || ' group' AS detail
    FROM tenants t
    WHERE t.admins_group_id IS NULL OR t.users_group_id IS NULL

    UNION ALL
    SELECT 'admins_group_bad_tenant_id', t.tenant_id, ARRAY[t.admins_group_id, t.tenant_id],
           CASE WHEN t.admins_group_tenant_id IS NULL
                THEN t.admins_group_name || ' description has no tenantId'
                ELSE t.admins_group_name || ' description says tenantId ' || t.admins_group_tenant_id
                     || ', not the IdP id ' || t.tenant_id END
    FROM tenants t
    WHERE t.admins_group_id IS NOT NULL AND NOT t.admins_group_tenant_id_ok

    UNION ALL
    SELECT 'appusers_unknown_app', e.tenant_id, ARRAY[e.group_id, e.app_id],
           e.group_name || ' names app ' || coalesce(e.app_id, '(none)') || ', which does not exist'
    FROM tenant_app_entitlements e
    WHERE NOT e.app_exists

    UNION ALL
    SELECT 'appusers_not_assigned', e.tenant_id, ARRAY[e.group_id, e.app_id],
           e.group_name || ' is not assigned to app ' || coalesce(e.app_label, e.app_id)
    FROM tenant_app_entitlements e
    WHERE e.app_exists AND NOT e.assigned_to_app

    UNION ALL
    SELECT 'admins_group_missing_role', t.tenant_id, ARRAY[t.admins_group_id],
           t.admins_group_name || ' does not hold the Group Admin (USER_ADMIN) role'
    FROM tenants t
    WHERE t.admins_group_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM group_admin_roles r WHERE r.group_id = t.admins_group_id)

    UNION ALL
    SELECT DISTINCT 'admins_role_target_outside_tenant', t.tenant_id, ARRAY[t.admins_group_id, rt.target_group_id],
           t.admins_group_name || ' may administer ' || g.name || ', which is not a group of tenant ' || t.tenant_name
    FROM tenants t
    JOIN group_admin_roles r    ON r.group_id = t.admins_group_id
    JOIN group_role_targets rt  ON rt.group_id = r.group_id AND rt.role_id = r.role_id AND rt.deleted_at IS NULL
    -- A target that names a deleted group is stale, not a break: Okta drops it from the role.
    JOIN groups g               ON g.id = rt.target_group_id AND g.deleted_at IS NULL
    WHERE NOT EXISTS (SELECT 1 FROM tenant_groups tg
                      WHERE tg.tenant_id = t.tenant_id AND tg.group_id = rt.target_group_id)

    UNION ALL
    SELECT 'user_in_multiple_tenants', NULL, ARRAY[tu.user_id],
           min(tu.login) || ' is a user of tenants ' || string_agg(tu.tenant_name, ', ' ORDER BY tu.tenant_name)
    FROM tenant_users tu
    GROUP BY tu.user_id
    HAVING count(*) > 1

    UNION ALL
    SELECT 'admin_not_tenant_user', ta.tenant_id, ARRAY[ta.user_id, t.admins_group_id],
           ta.login || ' is in ' || t.admins_group_name || ' but not in ' || coalesce(t.users_group_name, 'USERS_' || t.tenant_name)
    FROM tenant_admins ta
    JOIN tenants t ON t.tenant_id = ta.tenant_id
    WHERE NOT ta.is_tenant_user
)
SELECT kind, tenant_id, object_ids, detail FROM issues
