//! The tenant-administration feature's storage seam: tenants and their licence
//! contingents, provisioning switch and application permissions (all on the tenant's one
//! configuration item), organization units, skills, and the admin's change to a user; as a
//! trait implemented over the kernel's DynamoDB [`Table`], each write one transaction with
//! its audit record.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use stratus_kernel::audit::AuditRecord;
use stratus_kernel::license::{self, LicenseType};
use stratus_kernel::table::{
    from_item, key, keys, n, not_exists, s, to_item, user_item, version_is, Change, Expr, Meaning,
    Table, VersionedUser,
};
use stratus_kernel::{Error, Guid, OrganizationUnit, Tenant, User};

use crate::TenantAdminError;

/// A skill as stored (the admin API answers with it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Skill {
    pub id: Guid,
    pub name: String,
    pub organization_unit_id: Guid,
}

/// A skill as its item stores it (the answer's fields today, but its own type).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SkillItem {
    id: Guid,
    name: String,
    organization_unit_id: Guid,
}

impl From<&Skill> for SkillItem {
    fn from(s: &Skill) -> Self {
        SkillItem {
            id: s.id.clone(),
            name: s.name.clone(),
            organization_unit_id: s.organization_unit_id.clone(),
        }
    }
}

// Implemented and called on the concrete `Table` only, so the futures' `Send` is known
// where they are awaited.
#[allow(async_fn_in_trait)]
pub trait TenantAdminStore {
    /// Creates a tenant with its root unit. `Ok(false)` when the tenant exists already.
    async fn create_tenant(
        &self,
        tenant: &Tenant,
        root: &OrganizationUnit,
        audit: &AuditRecord,
    ) -> Result<bool, TenantAdminError>;
    async fn rename_tenant(
        &self,
        tenant: &Guid,
        name: &str,
        audit: &AuditRecord,
    ) -> Result<(), TenantAdminError>;
    async fn set_public_api(
        &self,
        tenant: &Guid,
        enabled: bool,
        audit: &AuditRecord,
    ) -> Result<(), TenantAdminError>;
    /// Sets licence totals; refused as a whole if any would drop below its seats in use.
    async fn set_license_totals(
        &self,
        tenant: &Guid,
        totals: &[(LicenseType, u32)],
        audit: &AuditRecord,
    ) -> Result<(), TenantAdminError>;
    async fn set_app_permission(
        &self,
        tenant: &Guid,
        app_id: &str,
        units: &[Guid],
        audit: &AuditRecord,
    ) -> Result<(), TenantAdminError>;
    async fn remove_app_permission(
        &self,
        tenant: &Guid,
        app_id: &str,
        audit: &AuditRecord,
    ) -> Result<(), TenantAdminError>;
    async fn create_organization_unit(
        &self,
        tenant: &Guid,
        unit: &OrganizationUnit,
        audit: &AuditRecord,
    ) -> Result<(), TenantAdminError>;
    /// All units of a tenant (paginated underneath).
    async fn organization_units(&self, tenant: &Guid) -> Result<Vec<OrganizationUnit>, Error>;
    /// Creates a skill whose name (case-insensitive) is new in the tenant.
    async fn create_skill(
        &self,
        tenant: &Guid,
        skill: &Skill,
        audit: &AuditRecord,
    ) -> Result<(), TenantAdminError>;
    /// The ids among `skills` that are not skills of the tenant.
    async fn missing_skills(&self, tenant: &Guid, skills: &[Guid]) -> Result<Vec<Guid>, Error>;
    /// Replaces a user read at `before`, taking and freeing seats for the licence change.
    async fn replace_user(
        &self,
        tenant: &Guid,
        before: &VersionedUser,
        after: &User,
        audit: &AuditRecord,
    ) -> Result<(), TenantAdminError>;
}

impl TenantAdminStore for Table {
    /// Creates a tenant with its root unit. `Ok(false)` when the tenant exists already.
    async fn create_tenant(
        &self,
        tenant: &Tenant,
        root: &OrganizationUnit,
        audit: &AuditRecord,
    ) -> Result<bool, TenantAdminError> {
        let pk = keys::tenant_pk(&tenant.id);
        let mut c = Change::on(self);
        c.put(
            to_item(pk.clone(), keys::TENANT_SK, tenant)?,
            Some(not_exists()),
            Meaning::Fails(Error::ConcurrentChange.into()),
        )?;
        c.put(
            to_item(pk, keys::ou_sk(&root.id), root)?,
            Some(not_exists()),
            Meaning::Fails(Error::ConcurrentChange.into()),
        )?;
        c.audit(audit)?;
        match self.commit(c).await {
            Ok(()) => Ok(true),
            Err(TenantAdminError::Kernel(Error::ConcurrentChange)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn rename_tenant(
        &self,
        tenant: &Guid,
        name: &str,
        audit: &AuditRecord,
    ) -> Result<(), TenantAdminError> {
        let expr = Expr::new().name("#name", "name").value(":name", s(name));
        let change = tenant_update(
            self,
            tenant,
            "SET #name = :name",
            expr,
            TenantAdminError::TenantNotFound,
            audit,
        )?;
        self.commit(change).await
    }

    async fn set_public_api(
        &self,
        tenant: &Guid,
        enabled: bool,
        audit: &AuditRecord,
    ) -> Result<(), TenantAdminError> {
        let expr = Expr::new()
            .name("#f", "publicApiEnabled")
            .value(":f", AttributeValue::Bool(enabled));
        let change = tenant_update(
            self,
            tenant,
            "SET #f = :f",
            expr,
            TenantAdminError::TenantNotFound,
            audit,
        )?;
        self.commit(change).await
    }

    async fn set_license_totals(
        &self,
        tenant: &Guid,
        totals: &[(LicenseType, u32)],
        audit: &AuditRecord,
    ) -> Result<(), TenantAdminError> {
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
        let mut c = Change::on(self);
        c.update(
            key(keys::tenant_pk(tenant), keys::TENANT_SK),
            &format!("SET {}", sets.join(", ")),
            &conditions.join(" AND "),
            expr,
            Meaning::FailsUnless {
                absent: TenantAdminError::TenantNotFound,
                failed: Error::ConcurrentChange.into(),
            },
        )?;
        c.audit(audit)?;
        match self.commit(c).await {
            Err(TenantAdminError::Kernel(Error::ConcurrentChange)) => {
                // Say which licence is in the way.
                let current = self
                    .tenant(tenant)
                    .await?
                    .ok_or(TenantAdminError::TenantNotFound)?;
                Err(totals
                    .iter()
                    .find_map(|(license, total)| {
                        let count = current.licenses.get(license).copied().unwrap_or_default();
                        (count.in_use > *total).then_some(TenantAdminError::LicensesBelowUsage {
                            license: *license,
                            total: *total,
                            in_use: count.in_use,
                        })
                    })
                    .unwrap_or(Error::ConcurrentChange.into()))
            }
            other => other,
        }
    }

    async fn set_app_permission(
        &self,
        tenant: &Guid,
        app_id: &str,
        units: &[Guid],
        audit: &AuditRecord,
    ) -> Result<(), TenantAdminError> {
        let list = AttributeValue::L(units.iter().map(|u| s(u.as_str())).collect());
        let expr = Expr::new()
            .name("#perm", "appPermissions")
            .name("#app", &app_id.to_ascii_lowercase())
            .value(":units", list);
        // Only a tenant admin sets permissions, and the token named the tenant.
        let missing = Error::InvalidTenantId.into();
        let change = tenant_update(
            self,
            tenant,
            "SET #perm.#app = :units",
            expr,
            missing,
            audit,
        )?;
        self.commit(change).await
    }

    async fn remove_app_permission(
        &self,
        tenant: &Guid,
        app_id: &str,
        audit: &AuditRecord,
    ) -> Result<(), TenantAdminError> {
        let expr = Expr::new()
            .name("#perm", "appPermissions")
            .name("#app", &app_id.to_ascii_lowercase());
        let mut c = Change::on(self);
        c.update(
            key(keys::tenant_pk(tenant), keys::TENANT_SK),
            "REMOVE #perm.#app",
            "attribute_exists(#perm.#app)",
            expr,
            Meaning::FailsUnless {
                absent: Error::InvalidTenantId.into(),
                failed: TenantAdminError::AppPermissionNotFound(app_id.to_string()),
            },
        )?;
        c.audit(audit)?;
        self.commit(c).await
    }

    async fn create_organization_unit(
        &self,
        tenant: &Guid,
        unit: &OrganizationUnit,
        audit: &AuditRecord,
    ) -> Result<(), TenantAdminError> {
        let mut c = Change::on(self);
        let item = to_item(keys::tenant_pk(tenant), keys::ou_sk(&unit.id), unit)?;
        c.put(
            item,
            Some(not_exists()),
            Meaning::Fails(Error::ConcurrentChange.into()),
        )?;
        c.audit(audit)?;
        self.commit(c).await
    }

    /// Creates a skill whose name (case-insensitive) is new in the tenant.
    async fn create_skill(
        &self,
        tenant: &Guid,
        skill: &Skill,
        audit: &AuditRecord,
    ) -> Result<(), TenantAdminError> {
        let pk = keys::tenant_pk(tenant);
        let mut c = Change::on(self);
        c.put(
            to_item(
                pk.clone(),
                keys::skill_sk(&skill.id),
                &SkillItem::from(skill),
            )?,
            Some(not_exists()),
            Meaning::Fails(Error::ConcurrentChange.into()),
        )?;
        let guard = to_item(
            pk,
            keys::skill_name_sk(&skill.name),
            &serde_json::json!({ "skillId": skill.id }),
        )?;
        c.put(
            guard,
            Some(not_exists()),
            Meaning::Fails(TenantAdminError::SkillAlreadyExists),
        )?;
        c.audit(audit)?;
        self.commit(c).await
    }

    async fn replace_user(
        &self,
        tenant: &Guid,
        before: &VersionedUser,
        after: &User,
        audit: &AuditRecord,
    ) -> Result<(), TenantAdminError> {
        let (taken, freed) = license::delta(&before.user.licenses, &after.licenses);
        let mut c = Change::on(self);
        c.put(
            user_item(tenant, after, before.version + 1)?,
            Some(version_is(before.version)),
            Meaning::Fails(Error::ConcurrentChange.into()),
        )?;
        c.seats(tenant, &taken, &freed)?;
        c.audit(audit)?;
        self.commit(c).await
    }

    async fn organization_units(&self, tenant: &Guid) -> Result<Vec<OrganizationUnit>, Error> {
        self.query_prefix(keys::tenant_pk(tenant), keys::OU_PREFIX)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    async fn missing_skills(&self, tenant: &Guid, skills: &[Guid]) -> Result<Vec<Guid>, Error> {
        if skills.is_empty() {
            return Ok(Vec::new());
        }
        let pk = keys::tenant_pk(tenant);
        let mut present = Vec::new();
        for chunk in skills.chunks(100) {
            let wanted = chunk
                .iter()
                .map(|id| key(pk.clone(), keys::skill_sk(id)))
                .collect();
            for item in self.batch_get(wanted).await? {
                let skill: SkillItem = from_item(item)?;
                present.push(skill.id);
            }
        }
        Ok(skills
            .iter()
            .filter(|id| !present.contains(id))
            .cloned()
            .collect())
    }
}

/// A change that updates the tenant's configuration item, which must exist (`missing`
/// otherwise), with its audit record.
fn tenant_update(
    table: &Table,
    tenant: &Guid,
    update: &str,
    expr: Expr,
    missing: TenantAdminError,
    audit: &AuditRecord,
) -> Result<Change<TenantAdminError>, Error> {
    let mut c = Change::on(table);
    c.update(
        key(keys::tenant_pk(tenant), keys::TENANT_SK),
        update,
        "attribute_exists(PK)",
        expr,
        Meaning::Fails(missing),
    )?;
    c.audit(audit)?;
    Ok(c)
}
