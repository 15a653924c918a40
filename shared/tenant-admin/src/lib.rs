//! Tenant administration (`/api/admin`): enough to set a tenant up from nothing.
//! Operators create tenants and set contingents and the provisioning switch; tenant
//! administrators manage organization units, application permissions, users and skills.
//! Each operation: the caller's role, the input, then one transaction with its audit record
//! (through [`store::TenantAdminStore`]).

mod error;
pub mod store;
mod user_patch;

use serde::Serialize;
use serde_json::{json, Value};
use stratus_kernel::audit::audit_record;
use stratus_kernel::fields::{guid_list, path_guid, Fields};
use stratus_kernel::license::{self, LicenseType, LicenseUsage};
use stratus_kernel::organization::validate_name;
use stratus_kernel::tenant::TenantView;
use stratus_kernel::{
    retry_on_race, Error, Guid, Incoming, Kernel, OrganizationUnit, Tenant, User,
};

pub use error::TenantAdminError;
pub use store::Skill;
use store::TenantAdminStore;
pub use user_patch::UserPatch;

/// Largest contingent an operator can set for one licence type.
const MAX_LICENSES: u64 = 1_000_000;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationUnitView {
    pub id: Guid,
    pub name: String,
    pub parent_id: Option<Guid>,
}

impl From<OrganizationUnit> for OrganizationUnitView {
    fn from(u: OrganizationUnit) -> Self {
        OrganizationUnitView {
            id: u.id,
            name: u.name,
            parent_id: u.parent_id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppPermissionView {
    pub app_id: String,
    pub organization_unit_ids: Vec<Guid>,
}

type Result<T> = std::result::Result<T, TenantAdminError>;

/// The tenant an operator named, as it is now (after the change just made).
async fn existing_tenant(kernel: &Kernel, id: &Guid) -> Result<Tenant> {
    kernel
        .table()
        .tenant(id)
        .await?
        .ok_or(TenantAdminError::TenantNotFound)
}

/// `PUT /api/admin/tenants/{tenantId}`: creates the tenant (with its root unit) or renames
/// it. `true` when it was created.
pub async fn put_tenant(kernel: &Kernel, incoming: Incoming) -> Result<(TenantView, bool)> {
    let actor = kernel.operator(&incoming).await?;
    let id = path_guid("tenantId", incoming.path_param("tenantId"))?;
    let name = validate_name("name", &incoming.body_fields()?.required_string("name")?)?;
    let table = kernel.table();
    // The creation's condition says whether the tenant exists; no read first.
    let root = OrganizationUnit::root(Guid::new_random(), name.clone());
    let tenant = Tenant::new(id.clone(), name.clone(), root.id.clone());
    let audit = audit_record(
        &id,
        &actor,
        "tenant.create",
        format!("tenant:{id}"),
        json!({ "name": name }),
    );
    if table.create_tenant(&tenant, &root, &audit).await? {
        return Ok((tenant.view(), true));
    }
    let audit = audit_record(
        &id,
        &actor,
        "tenant.rename",
        format!("tenant:{id}"),
        json!({ "name": name }),
    );
    table.rename_tenant(&id, &name, &audit).await?;
    Ok((existing_tenant(kernel, &id).await?.view(), false))
}

/// `PUT /api/admin/tenants/{tenantId}/licenses`: sets contingents per type; types not
/// named keep theirs; none may drop below the seats in use.
pub async fn put_tenant_licenses(kernel: &Kernel, incoming: Incoming) -> Result<Vec<LicenseUsage>> {
    let actor = kernel.operator(&incoming).await?;
    let id = path_guid("tenantId", incoming.path_param("tenantId"))?;
    let totals = license_totals(&incoming.body_fields()?)?;
    let detail: Value = totals
        .iter()
        .map(|(l, t)| (l.id().to_string(), json!(t)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let audit = audit_record(
        &id,
        &actor,
        "tenant.licenses.set",
        format!("tenant:{id}"),
        detail,
    );
    kernel
        .table()
        .set_license_totals(&id, &totals, &audit)
        .await?;
    Ok(license::usage(
        &existing_tenant(kernel, &id).await?.licenses,
    ))
}

/// The contingents a licences body sets: every key a licence type (case-insensitively),
/// every value a whole number up to [`MAX_LICENSES`].
fn license_totals(body: &Fields) -> std::result::Result<Vec<(LicenseType, u32)>, Error> {
    let mut totals = Vec::new();
    for (key, value) in body.entries() {
        let license = LicenseType::parse(key).ok_or_else(|| {
            let known: Vec<&str> = LicenseType::ALL.iter().map(|t| t.id()).collect();
            Error::BadRequest(format!(
                "\"{key}\" is not a license type (one of {})",
                known.join(", ")
            ))
        })?;
        let total = value
            .as_u64()
            .filter(|n| *n <= MAX_LICENSES)
            .ok_or_else(|| {
                Error::field(key, &format!("must be an integer from 0 to {MAX_LICENSES}"))
            })?;
        totals.push((license, total as u32));
    }
    Ok(totals)
}

/// `PUT /api/admin/tenants/{tenantId}/provisioning`: the public API switch.
pub async fn put_tenant_provisioning(kernel: &Kernel, incoming: Incoming) -> Result<TenantView> {
    let actor = kernel.operator(&incoming).await?;
    let id = path_guid("tenantId", incoming.path_param("tenantId"))?;
    let enabled = incoming
        .body_fields()?
        .bool("publicApiEnabled")?
        .ok_or_else(|| Error::field("publicApiEnabled", "is required"))?;
    let audit = audit_record(
        &id,
        &actor,
        "tenant.provisioning.set",
        format!("tenant:{id}"),
        json!({ "publicApiEnabled": enabled }),
    );
    kernel.table().set_public_api(&id, enabled, &audit).await?;
    Ok(existing_tenant(kernel, &id).await?.view())
}

/// `POST /api/admin/organization-units`: a unit below `parentId` (the root if absent).
pub async fn create_organization_unit(
    kernel: &Kernel,
    incoming: Incoming,
) -> Result<OrganizationUnitView> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let body = incoming.body_fields()?;
    let name = validate_name("name", &body.required_string("name")?)?;
    let parent_id = match body.guid("parentId")? {
        Some(id) => id,
        // The root's id is on the tenant item, which a tenant that does not exist lacks.
        None => {
            kernel
                .table()
                .tenant(&admin.tenant_id)
                .await?
                .ok_or(Error::InvalidTenantId)?
                .root_organization_unit_id
        }
    };
    let parent = kernel
        .unit(&admin.tenant_id, &parent_id)
        .await?
        .ok_or_else(|| Error::field("parentId", "is not an organization unit of this tenant"))?;
    let unit = OrganizationUnit::child_of(&parent, Guid::new_random(), name);
    let audit = audit_record(
        &admin.tenant_id,
        &admin.actor,
        "organizationUnit.create",
        format!("organizationUnit:{}", unit.id),
        json!({ "name": unit.name, "parentId": parent_id }),
    );
    kernel
        .table()
        .create_organization_unit(&admin.tenant_id, &unit, &audit)
        .await?;
    Ok(unit.into())
}

/// `GET /api/admin/organization-units`: every unit, parents before children.
pub async fn list_organization_units(
    kernel: &Kernel,
    incoming: Incoming,
) -> Result<Vec<OrganizationUnitView>> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let mut units = kernel.table().organization_units(&admin.tenant_id).await?;
    // Every tenant has its root unit from the moment it exists.
    if units.is_empty() {
        return Err(Error::InvalidTenantId.into());
    }
    units.sort_by(|a, b| {
        a.path
            .len()
            .cmp(&b.path.len())
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(units.into_iter().map(Into::into).collect())
}

/// Fails naming `field` unless each of `units` is a unit of the tenant.
async fn ensure_units_exist(
    kernel: &Kernel,
    tenant: &Guid,
    field: &str,
    units: &[Guid],
) -> Result<()> {
    for id in units {
        if kernel.unit(tenant, id).await?.is_none() {
            return Err(Error::BadRequest(format!(
                "\"{field}\" contains an unknown organization unit: {id}"
            ))
            .into());
        }
    }
    Ok(())
}

/// `PUT /api/admin/app-permissions/{appId}`: registers an application for the public API
/// with the units it may touch.
pub async fn put_app_permission(kernel: &Kernel, incoming: Incoming) -> Result<AppPermissionView> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let app_id = path_guid("appId", incoming.path_param("appId"))?.to_string();
    let body = incoming.body_fields()?;
    let units = guid_list(
        "organizationUnitIds",
        body.get("organizationUnitIds")
            .ok_or_else(|| Error::field("organizationUnitIds", "is required"))?,
    )?;
    ensure_units_exist(kernel, &admin.tenant_id, "organizationUnitIds", &units).await?;
    let audit = audit_record(
        &admin.tenant_id,
        &admin.actor,
        "appPermission.set",
        format!("app:{app_id}"),
        json!({ "organizationUnitIds": units }),
    );
    kernel
        .table()
        .set_app_permission(&admin.tenant_id, &app_id, &units, &audit)
        .await?;
    Ok(AppPermissionView {
        app_id,
        organization_unit_ids: units,
    })
}

/// `DELETE /api/admin/app-permissions/{appId}`.
pub async fn delete_app_permission(kernel: &Kernel, incoming: Incoming) -> Result<()> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let app_id = path_guid("appId", incoming.path_param("appId"))?.to_string();
    let audit = audit_record(
        &admin.tenant_id,
        &admin.actor,
        "appPermission.delete",
        format!("app:{app_id}"),
        json!({}),
    );
    kernel
        .table()
        .remove_app_permission(&admin.tenant_id, &app_id, &audit)
        .await
}

/// `PATCH /api/admin/users/{o365Id}`: changes a user's configuration; licence changes take
/// and free seats in the same transaction.
pub async fn patch_user(kernel: &Kernel, incoming: Incoming) -> Result<User> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let id = path_guid("o365Id", incoming.path_param("o365Id"))?;
    let patch = UserPatch::parse(incoming.required_json()?.clone())?;
    let table = kernel.table();
    if let Some(skills) = &patch.skills {
        let ids: Vec<Guid> = skills.iter().map(|s| s.skill_id.clone()).collect();
        if let Some(missing) = table.missing_skills(&admin.tenant_id, &ids).await?.first() {
            return Err(Error::BadRequest(format!(
                "\"skills\" contains an unknown skill: {missing}"
            ))
            .into());
        }
    }
    if let Some(unit) = &patch.organization_unit_id {
        if kernel.unit(&admin.tenant_id, unit).await?.is_none() {
            return Err(Error::field(
                "organizationUnitId",
                "is not an organization unit of this tenant",
            )
            .into());
        }
    }
    retry_on_race(|| async {
        let before = table
            .user(&admin.tenant_id, &id)
            .await?
            .ok_or(Error::UserNotFound)?;
        let after = patch.apply(&before.user);
        let audit = audit_record(
            &admin.tenant_id,
            &admin.actor,
            "user.update",
            format!("user:{id}"),
            json!({ "licenses": after.licenses, "organizationUnitId": after.organization_unit_id }),
        );
        table
            .replace_user(&admin.tenant_id, &before, &after, &audit)
            .await?;
        Ok(after)
    })
    .await
}

/// `POST /api/admin/skills`: a skill with a name new to the tenant.
pub async fn create_skill(kernel: &Kernel, incoming: Incoming) -> Result<Skill> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let body = incoming.body_fields()?;
    let name = validate_name("name", &body.required_string("name")?)?;
    let unit = body.required_guid("organizationUnitId")?;
    if kernel.unit(&admin.tenant_id, &unit).await?.is_none() {
        return Err(Error::field(
            "organizationUnitId",
            "is not an organization unit of this tenant",
        )
        .into());
    }
    let skill = Skill {
        id: Guid::new_random(),
        name,
        organization_unit_id: unit,
    };
    let audit = audit_record(
        &admin.tenant_id,
        &admin.actor,
        "skill.create",
        format!("skill:{}", skill.id),
        json!({ "name": skill.name }),
    );
    kernel
        .table()
        .create_skill(&admin.tenant_id, &skill, &audit)
        .await?;
    Ok(skill)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(body: Value) -> std::result::Result<Vec<(LicenseType, u32)>, String> {
        license_totals(&Fields::from_value(body, "").unwrap()).map_err(|e| e.to_string())
    }

    #[test]
    fn licence_bodies_name_types_case_insensitively_and_bound_their_totals() {
        assert_eq!(
            totals(json!({ "ContactCenter": 5, "interact": 0 })),
            Ok(vec![
                (LicenseType::ContactCenter, 5),
                (LicenseType::Interact, 0)
            ])
        );
        let unknown = totals(json!({ "Gold": 1 })).unwrap_err();
        assert!(
            unknown.starts_with("\"Gold\" is not a license type (one of "),
            "{unknown}"
        );
        assert_eq!(
            totals(json!({ "Interact": 1_000_001 })),
            Err("\"Interact\" must be an integer from 0 to 1000000".to_owned())
        );
        assert!(totals(json!({ "Interact": -1 })).is_err());
        assert!(totals(json!({ "Interact": "3" })).is_err());
    }
}
