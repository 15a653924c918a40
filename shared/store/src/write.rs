//! The writes of users, tenants, organization units, app permissions and skills, each one
//! transaction built with [`crate::change::Change`].

use crate::change::{n, not_exists, Change, Expr, Meaning};
use crate::{
    key, keys, license_count, now_rfc3339, s, sdk_failure, to_item, Item, Skill, Store,
    VersionedUser,
};
use aws_sdk_dynamodb::types::AttributeValue;
use std::time::Instant;
use stratus_domain::audit::AuditRecord;
use stratus_domain::license::{self, LicenseType};
use stratus_domain::{Error, Guid, OrganizationUnit, Tenant, User};

/// DynamoDB allows 100 items per transaction; memberships beyond this many are removed
/// in earlier transactions of their own (removing a membership twice is harmless).
const MAX_DEPENDENTS_IN_FINAL: usize = 90;

fn user_item(tenant: &Guid, user: &User, version: u64) -> Result<Item, Error> {
    let mut item = to_item(keys::tenant_pk(tenant), keys::user_sk(&user.o365_id), user)?;
    item.insert("version".into(), n(version));
    Ok(item)
}

fn version_is(version: u64) -> (&'static str, Expr) {
    ("version = :v", Expr::new().value(":v", n(version)))
}

impl Store {
    /// Creates a user that must not exist yet, taking a seat of each of its licences.
    pub async fn create_user(
        &self,
        tenant: &Guid,
        user: &User,
        audit: &AuditRecord,
    ) -> Result<(), Error> {
        let mut c = Change::default();
        c.put(
            &self.table,
            user_item(tenant, user, 1)?,
            Some(not_exists()),
            Meaning::Fails(Error::UserAlreadyExists),
        )?;
        c.seats(&self.table, tenant, &user.licenses, &[])?;
        c.audit(&self.table, audit)?;
        self.commit(c).await
    }

    /// Replaces a user read at `before`, taking and freeing seats for the licence change.
    pub async fn replace_user(
        &self,
        tenant: &Guid,
        before: &VersionedUser,
        after: &User,
        audit: &AuditRecord,
    ) -> Result<(), Error> {
        let (taken, freed) = license::delta(&before.user.licenses, &after.licenses);
        let mut c = Change::default();
        c.put(
            &self.table,
            user_item(tenant, after, before.version + 1)?,
            Some(version_is(before.version)),
            Meaning::Fails(Error::ConcurrentChange),
        )?;
        c.seats(&self.table, tenant, &taken, &freed)?;
        c.audit(&self.table, audit)?;
        self.commit(c).await
    }

    /// Deletes a user read at `before` with everything hanging off it, freeing its seats.
    pub async fn delete_user(
        &self,
        tenant: &Guid,
        before: &VersionedUser,
        dependents: &[String],
        audit: &AuditRecord,
    ) -> Result<(), Error> {
        let pk = keys::tenant_pk(tenant);
        let (early, last) =
            dependents.split_at(dependents.len().saturating_sub(MAX_DEPENDENTS_IN_FINAL));
        for chunk in early.chunks(MAX_DEPENDENTS_IN_FINAL) {
            let mut c = Change::default();
            for sk in chunk {
                c.delete(
                    &self.table,
                    key(pk.clone(), sk.clone()),
                    None,
                    Meaning::Unconditional,
                )?;
            }
            self.commit(c).await?;
        }
        let mut c = Change::default();
        c.delete(
            &self.table,
            key(pk.clone(), keys::user_sk(&before.user.o365_id)),
            Some(version_is(before.version)),
            Meaning::Fails(Error::ConcurrentChange),
        )?;
        c.seats(&self.table, tenant, &[], &before.user.licenses)?;
        for sk in last {
            c.delete(
                &self.table,
                key(pk.clone(), sk.clone()),
                None,
                Meaning::Unconditional,
            )?;
        }
        c.audit(&self.table, audit)?;
        self.commit(c).await
    }

    /// Stores a user as Teams directory sync creates it (no seats: the Team's licences are
    /// managed by the sync). No HTTP operation creates such users yet; tests plant them.
    pub async fn put_teams_synced_user(
        &self,
        tenant_id: &str,
        o365_id: &str,
        organization_unit_id: &str,
        licenses: &[&str],
    ) -> Result<(), Error> {
        let parse = |field: &str, v: &str| {
            Guid::parse(v).ok_or_else(|| Error::field(field, "must be a GUID"))
        };
        let tenant = parse("tenantId", tenant_id)?;
        let mut user = User::teams_synced(
            parse("o365Id", o365_id)?,
            parse("organizationUnitId", organization_unit_id)?,
        );
        user.licenses = licenses
            .iter()
            .filter_map(|l| LicenseType::parse(l))
            .collect();
        let item = user_item(&tenant, &user, 1)?;
        let started = Instant::now();
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_failure("put user", e, started))?;
        Ok(())
    }

    /// Saves a rate-limit log if nobody else changed it since `previous` was read.
    /// `Ok(false)`: somebody did; read again and decide again.
    pub async fn save_rate_log(
        &self,
        tenant: &Guid,
        app_id: &str,
        previous: Option<u64>,
        slots_ms: &[i64],
    ) -> Result<bool, Error> {
        let last = slots_ms.last().copied().unwrap_or(0);
        let mut item = key(keys::rate_pk(tenant, app_id), keys::RATE_SK);
        item.insert(
            "slots".into(),
            AttributeValue::L(slots_ms.iter().map(n).collect()),
        );
        item.insert("version".into(), n(previous.map_or(1, |v| v + 1)));
        // The log is worthless a window after its last slot; let TTL collect it.
        item.insert(keys::EXPIRES_AT.into(), n(last / 1000 + 120));
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        put = match previous {
            None => put.condition_expression("attribute_not_exists(PK)"),
            Some(v) => put
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(v)),
        };
        let started = Instant::now();
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_failure("saving the rate-limit log", e, started)),
        }
    }

    /// Creates a tenant with its root unit. `Ok(false)` when the tenant exists already.
    pub async fn create_tenant(
        &self,
        tenant: &Tenant,
        root: &OrganizationUnit,
        audit: &AuditRecord,
    ) -> Result<bool, Error> {
        let pk = keys::tenant_pk(&tenant.id);
        let mut c = Change::default();
        c.put(
            &self.table,
            to_item(pk.clone(), keys::TENANT_SK, tenant)?,
            Some(not_exists()),
            Meaning::Fails(Error::ConcurrentChange),
        )?;
        c.put(
            &self.table,
            to_item(pk, keys::ou_sk(&root.id), root)?,
            Some(not_exists()),
            Meaning::Fails(Error::ConcurrentChange),
        )?;
        c.audit(&self.table, audit)?;
        match self.commit(c).await {
            Ok(()) => Ok(true),
            Err(Error::ConcurrentChange) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Applies an update expression to an existing tenant item, with its audit record.
    async fn update_tenant(
        &self,
        tenant: &Guid,
        update: &str,
        condition: &str,
        expr: Expr,
        on_fail: Error,
        audit: &AuditRecord,
    ) -> Result<(), Error> {
        let mut c = Change::default();
        c.update(
            &self.table,
            key(keys::tenant_pk(tenant), keys::TENANT_SK),
            update,
            condition,
            expr,
            Meaning::Fails(on_fail),
        )?;
        c.audit(&self.table, audit)?;
        self.commit(c).await
    }

    pub async fn rename_tenant(
        &self,
        tenant: &Guid,
        name: &str,
        audit: &AuditRecord,
    ) -> Result<(), Error> {
        let expr = Expr::new().name("#name", "name").value(":name", s(name));
        self.update_tenant(
            tenant,
            "SET #name = :name",
            "attribute_exists(PK)",
            expr,
            Error::TenantNotFound,
            audit,
        )
        .await
    }

    pub async fn set_public_api(
        &self,
        tenant: &Guid,
        enabled: bool,
        audit: &AuditRecord,
    ) -> Result<(), Error> {
        let expr = Expr::new()
            .name("#f", "publicApiEnabled")
            .value(":f", AttributeValue::Bool(enabled));
        self.update_tenant(
            tenant,
            "SET #f = :f",
            "attribute_exists(PK)",
            expr,
            Error::TenantNotFound,
            audit,
        )
        .await
    }

    /// Sets licence totals; refused as a whole if any would drop below its seats in use.
    pub async fn set_license_totals(
        &self,
        tenant: &Guid,
        totals: &[(LicenseType, u32)],
        audit: &AuditRecord,
    ) -> Result<(), Error> {
        if totals.is_empty() {
            return Ok(());
        }
        let mut expr = Expr::new()
            .name("#lic", "licenses")
            .name("#used", "inUse")
            .name("#total", "total");
        let mut sets = Vec::new();
        let mut conditions = vec!["attribute_exists(PK)".to_string()];
        for (i, (license, total)) in totals.iter().enumerate() {
            let (t, v) = (format!("#t{i}"), format!(":v{i}"));
            expr = expr.name(&t, license.id()).value(&v, n(total));
            sets.push(format!("#lic.{t}.#total = {v}"));
            conditions.push(format!("#lic.{t}.#used <= {v}"));
        }
        let result = self
            .update_tenant(
                tenant,
                &format!("SET {}", sets.join(", ")),
                &conditions.join(" AND "),
                expr,
                Error::ConcurrentChange,
                audit,
            )
            .await;
        match result {
            Err(Error::ConcurrentChange) => {
                // Say which licence is in the way (or that the tenant is gone).
                let current = self.tenant(tenant).await?.ok_or(Error::TenantNotFound)?;
                Err(totals
                    .iter()
                    .find_map(|(license, total)| {
                        let count = license_count(&current, *license);
                        (count.in_use > *total).then_some(Error::LicensesBelowUsage {
                            license: *license,
                            total: *total,
                            in_use: count.in_use,
                        })
                    })
                    .unwrap_or(Error::ConcurrentChange))
            }
            other => other,
        }
    }

    pub async fn set_app_permission(
        &self,
        tenant: &Guid,
        app_id: &str,
        units: &[Guid],
        audit: &AuditRecord,
    ) -> Result<(), Error> {
        let list = AttributeValue::L(units.iter().map(|u| s(u.as_str())).collect());
        let expr = Expr::new()
            .name("#perm", "appPermissions")
            .name("#app", &app_id.to_ascii_lowercase())
            .value(":units", list);
        self.update_tenant(
            tenant,
            "SET #perm.#app = :units",
            "attribute_exists(PK)",
            expr,
            Error::TenantNotFound,
            audit,
        )
        .await
    }

    pub async fn remove_app_permission(
        &self,
        tenant: &Guid,
        app_id: &str,
        audit: &AuditRecord,
    ) -> Result<(), Error> {
        let expr = Expr::new()
            .name("#perm", "appPermissions")
            .name("#app", &app_id.to_ascii_lowercase());
        self.update_tenant(
            tenant,
            "REMOVE #perm.#app",
            "attribute_exists(#perm.#app)",
            expr,
            Error::AppPermissionNotFound(app_id.to_string()),
            audit,
        )
        .await
    }

    pub async fn create_organization_unit(
        &self,
        tenant: &Guid,
        unit: &OrganizationUnit,
        audit: &AuditRecord,
    ) -> Result<(), Error> {
        let mut c = Change::default();
        let item = to_item(keys::tenant_pk(tenant), keys::ou_sk(&unit.id), unit)?;
        c.put(
            &self.table,
            item,
            Some(not_exists()),
            Meaning::Fails(Error::ConcurrentChange),
        )?;
        c.audit(&self.table, audit)?;
        self.commit(c).await
    }

    /// Creates a skill whose name (case-insensitive) is new in the tenant.
    pub async fn create_skill(
        &self,
        tenant: &Guid,
        skill: &Skill,
        audit: &AuditRecord,
    ) -> Result<(), Error> {
        let pk = keys::tenant_pk(tenant);
        let mut c = Change::default();
        c.put(
            &self.table,
            to_item(pk.clone(), keys::skill_sk(&skill.id), skill)?,
            Some(not_exists()),
            Meaning::Fails(Error::ConcurrentChange),
        )?;
        let guard = to_item(
            pk,
            keys::skill_name_sk(&skill.name),
            &serde_json::json!({ "skillId": skill.id }),
        )?;
        c.put(
            &self.table,
            guard,
            Some(not_exists()),
            Meaning::Fails(Error::SkillAlreadyExists),
        )?;
        c.audit(&self.table, audit)?;
        self.commit(c).await
    }
}

/// An audit record stamped now.
pub fn audit_record(
    tenant: &Guid,
    actor: &str,
    action: &str,
    target: String,
    detail: serde_json::Value,
) -> AuditRecord {
    AuditRecord {
        tenant_id: tenant.to_string(),
        actor: actor.to_string(),
        action: action.to_string(),
        target,
        at: now_rfc3339(),
        detail,
    }
}
