//! The bootstrap administration API (`/api/admin`): enough to set a tenant up from
//! nothing. Operators create tenants and set contingents and the provisioning switch;
//! tenant administrators manage units, application permissions, users and skills.

use crate::{retry_on_race, App, Incoming};
use serde::Serialize;
use serde_json::{json, Value};
use stratus_domain::fields::{guid_list, path_guid};
use stratus_domain::license::{self, LicenseType, LicenseUsage};
use stratus_domain::organization::validate_name;
use stratus_domain::tenant::TenantView;
use stratus_domain::{Error, Guid, OrganizationUnit, Tenant, User, UserPatch};
use stratus_store::{audit_record, Skill};

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

impl App {
    async fn existing_tenant(&self, id: &Guid) -> Result<Tenant, Error> {
        self.store.tenant(id).await?.ok_or(Error::TenantNotFound)
    }

    /// `PUT /api/admin/tenants/{tenantId}`: creates the tenant (with its root unit) or
    /// renames it. `true` when it was created.
    pub async fn put_tenant(&self, incoming: Incoming) -> Result<(TenantView, bool), Error> {
        let actor = self.operator(&incoming).await?;
        let id = path_guid("tenantId", incoming.path_param("tenantId"))?;
        let name = validate_name("name", &incoming.body_fields()?.required_string("name")?)?;
        if self.store.tenant(&id).await?.is_none() {
            let root = OrganizationUnit::root(Guid::new_random(), name.clone());
            let tenant = Tenant::new(id.clone(), name.clone(), root.id.clone());
            let audit = audit_record(
                &id,
                &actor,
                "tenant.create",
                format!("tenant:{id}"),
                json!({ "name": name }),
            );
            if self.store.create_tenant(&tenant, &root, &audit).await? {
                return Ok((tenant.view(), true));
            }
        }
        let audit = audit_record(
            &id,
            &actor,
            "tenant.rename",
            format!("tenant:{id}"),
            json!({ "name": name }),
        );
        self.store.rename_tenant(&id, &name, &audit).await?;
        Ok((self.existing_tenant(&id).await?.view(), false))
    }

    /// `PUT /api/admin/tenants/{tenantId}/licenses`: sets contingents per type; types not
    /// named keep theirs; none may drop below the seats in use.
    pub async fn put_tenant_licenses(
        &self,
        incoming: Incoming,
    ) -> Result<Vec<LicenseUsage>, Error> {
        let actor = self.operator(&incoming).await?;
        let id = path_guid("tenantId", incoming.path_param("tenantId"))?;
        let body = incoming.body_fields()?;
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
        self.existing_tenant(&id).await?;
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
        self.store.set_license_totals(&id, &totals, &audit).await?;
        Ok(license::usage(&self.existing_tenant(&id).await?.licenses))
    }

    /// `PUT /api/admin/tenants/{tenantId}/provisioning`: the public API switch.
    pub async fn put_tenant_provisioning(&self, incoming: Incoming) -> Result<TenantView, Error> {
        let actor = self.operator(&incoming).await?;
        let id = path_guid("tenantId", incoming.path_param("tenantId"))?;
        let enabled = incoming
            .body_fields()?
            .bool("publicApiEnabled")?
            .ok_or_else(|| Error::field("publicApiEnabled", "is required"))?;
        self.existing_tenant(&id).await?;
        let audit = audit_record(
            &id,
            &actor,
            "tenant.provisioning.set",
            format!("tenant:{id}"),
            json!({ "publicApiEnabled": enabled }),
        );
        self.store.set_public_api(&id, enabled, &audit).await?;
        Ok(self.existing_tenant(&id).await?.view())
    }

    /// `POST /api/admin/organization-units`: a unit below `parentId` (the root if absent).
    pub async fn create_organization_unit(
        &self,
        incoming: Incoming,
    ) -> Result<OrganizationUnitView, Error> {
        let (admin, tenant) = self.tenant_admin(&incoming).await?;
        let body = incoming.body_fields()?;
        let name = validate_name("name", &body.required_string("name")?)?;
        let parent_id = body
            .guid("parentId")?
            .unwrap_or(tenant.root_organization_unit_id);
        let parent = self
            .unit(&admin.tenant_id, &parent_id)
            .await?
            .ok_or_else(|| {
                Error::field("parentId", "is not an organization unit of this tenant")
            })?;
        let unit = OrganizationUnit::child_of(&parent, Guid::new_random(), name);
        let audit = audit_record(
            &admin.tenant_id,
            &admin.actor,
            "organizationUnit.create",
            format!("organizationUnit:{}", unit.id),
            json!({ "name": unit.name, "parentId": parent_id }),
        );
        self.store
            .create_organization_unit(&admin.tenant_id, &unit, &audit)
            .await?;
        Ok(unit.into())
    }

    /// `GET /api/admin/organization-units`: every unit, parents before children.
    pub async fn list_organization_units(
        &self,
        incoming: Incoming,
    ) -> Result<Vec<OrganizationUnitView>, Error> {
        let (admin, _) = self.tenant_admin(&incoming).await?;
        let mut units = self.store.organization_units(&admin.tenant_id).await?;
        units.sort_by(|a, b| {
            a.path
                .len()
                .cmp(&b.path.len())
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(units.into_iter().map(Into::into).collect())
    }

    async fn ensure_units_exist(
        &self,
        tenant: &Guid,
        field: &str,
        units: &[Guid],
    ) -> Result<(), Error> {
        for id in units {
            if self.unit(tenant, id).await?.is_none() {
                return Err(Error::BadRequest(format!(
                    "\"{field}\" contains an unknown organization unit: {id}"
                )));
            }
        }
        Ok(())
    }

    /// `PUT /api/admin/app-permissions/{appId}`: registers an application for the public
    /// API with the units it may touch.
    pub async fn put_app_permission(&self, incoming: Incoming) -> Result<AppPermissionView, Error> {
        let (admin, _) = self.tenant_admin(&incoming).await?;
        let app_id = path_guid("appId", incoming.path_param("appId"))?.to_string();
        let body = incoming.body_fields()?;
        let units = guid_list(
            "organizationUnitIds",
            body.get("organizationUnitIds")
                .ok_or_else(|| Error::field("organizationUnitIds", "is required"))?,
        )?;
        self.ensure_units_exist(&admin.tenant_id, "organizationUnitIds", &units)
            .await?;
        let audit = audit_record(
            &admin.tenant_id,
            &admin.actor,
            "appPermission.set",
            format!("app:{app_id}"),
            json!({ "organizationUnitIds": units }),
        );
        self.store
            .set_app_permission(&admin.tenant_id, &app_id, &units, &audit)
            .await?;
        Ok(AppPermissionView {
            app_id,
            organization_unit_ids: units,
        })
    }

    /// `DELETE /api/admin/app-permissions/{appId}`.
    pub async fn delete_app_permission(&self, incoming: Incoming) -> Result<(), Error> {
        let (admin, _) = self.tenant_admin(&incoming).await?;
        let app_id = path_guid("appId", incoming.path_param("appId"))?.to_string();
        let audit = audit_record(
            &admin.tenant_id,
            &admin.actor,
            "appPermission.delete",
            format!("app:{app_id}"),
            json!({}),
        );
        self.store
            .remove_app_permission(&admin.tenant_id, &app_id, &audit)
            .await
    }

    /// `PATCH /api/admin/users/{o365Id}`: changes a user's configuration; licence changes
    /// take and free seats in the same transaction.
    pub async fn patch_user(&self, incoming: Incoming) -> Result<User, Error> {
        let (admin, _) = self.tenant_admin(&incoming).await?;
        let id = path_guid("o365Id", incoming.path_param("o365Id"))?;
        let patch = UserPatch::parse(incoming.required_body()?)?;
        if let Some(skills) = &patch.skills {
            let ids: Vec<Guid> = skills.iter().map(|s| s.skill_id.clone()).collect();
            if let Some(missing) = self
                .store
                .missing_skills(&admin.tenant_id, &ids)
                .await?
                .first()
            {
                return Err(Error::BadRequest(format!(
                    "\"skills\" contains an unknown skill: {missing}"
                )));
            }
        }
        if let Some(unit) = &patch.organization_unit_id {
            if self.unit(&admin.tenant_id, unit).await?.is_none() {
                return Err(Error::field(
                    "organizationUnitId",
                    "is not an organization unit of this tenant",
                ));
            }
        }
        retry_on_race(|| async {
            let before = self
                .store
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
            self.store
                .replace_user(&admin.tenant_id, &before, &after, &audit)
                .await?;
            Ok(after)
        })
        .await
    }

    /// `POST /api/admin/skills`: a skill with a name new to the tenant.
    pub async fn create_skill(&self, incoming: Incoming) -> Result<Skill, Error> {
        let (admin, _) = self.tenant_admin(&incoming).await?;
        let body = incoming.body_fields()?;
        let name = validate_name("name", &body.required_string("name")?)?;
        let unit = body.required_guid("organizationUnitId")?;
        if self.unit(&admin.tenant_id, &unit).await?.is_none() {
            return Err(Error::field(
                "organizationUnitId",
                "is not an organization unit of this tenant",
            ));
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
        self.store
            .create_skill(&admin.tenant_id, &skill, &audit)
            .await?;
        Ok(skill)
    }
}
