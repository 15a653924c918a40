//! The items every feature reads: the tenant's configuration record, its organization
//! units, its users (with the optimistic version a user item carries), and the audit trail.

use std::time::Instant;

use super::change::{n, Expr};
use super::{from_item, key, keys, sdk_failure, to_item, version_of, Item, Table};
use crate::audit::AuditRecord;
use crate::license::LicenseType;
use crate::user::{AssignmentType, Modality, ResponsibilityProfiles, SkillLevel, User};
use crate::{Error, Guid, OrganizationUnit, Tenant};

/// A user as its item stores it. The same fields as the provisioning API's answer today, but
/// its own type: the answer's shape is the seed's contract, the item's is the stored data's,
/// and either may change without the other.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserItem {
    o365_id: Guid,
    organization_unit_id: Guid,
    assignment_type: AssignmentType,
    upn: Option<String>,
    display_name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    #[serde(default)]
    licenses: Vec<LicenseType>,
    #[serde(default)]
    modalities: Vec<Modality>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    skills: Vec<SkillLevel>,
    #[serde(default)]
    responsibility_profiles: ResponsibilityProfiles,
    #[serde(default)]
    not_available_reasons: Vec<Guid>,
    interact: Option<serde_json::Value>,
    assistant: Option<serde_json::Value>,
    #[serde(default)]
    processing_restricted: bool,
}

impl From<&User> for UserItem {
    fn from(u: &User) -> Self {
        UserItem {
            o365_id: u.o365_id.clone(),
            organization_unit_id: u.organization_unit_id.clone(),
            assignment_type: u.assignment_type,
            upn: u.upn.clone(),
            display_name: u.display_name.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
            licenses: u.licenses.clone(),
            modalities: u.modalities.clone(),
            roles: u.roles.clone(),
            skills: u.skills.clone(),
            responsibility_profiles: u.responsibility_profiles.clone(),
            not_available_reasons: u.not_available_reasons.clone(),
            interact: u.interact.clone(),
            assistant: u.assistant.clone(),
            processing_restricted: u.processing_restricted,
        }
    }
}

impl From<UserItem> for User {
    fn from(i: UserItem) -> Self {
        User {
            o365_id: i.o365_id,
            organization_unit_id: i.organization_unit_id,
            assignment_type: i.assignment_type,
            upn: i.upn,
            display_name: i.display_name,
            first_name: i.first_name,
            last_name: i.last_name,
            email: i.email,
            licenses: i.licenses,
            modalities: i.modalities,
            roles: i.roles,
            skills: i.skills,
            responsibility_profiles: i.responsibility_profiles,
            not_available_reasons: i.not_available_reasons,
            interact: i.interact,
            assistant: i.assistant,
            processing_restricted: i.processing_restricted,
        }
    }
}

/// A user together with the version its item had when read.
#[derive(Clone, Debug, PartialEq)]
pub struct VersionedUser {
    pub user: User,
    pub version: u64,
}

impl VersionedUser {
    /// A user item as read, with its version.
    pub fn from_item(item: Item) -> Result<VersionedUser, Error> {
        let version = version_of(&item);
        let stored: UserItem = from_item(item)?;
        Ok(VersionedUser {
            user: stored.into(),
            version,
        })
    }
}

/// A user's item at `version`.
pub fn user_item(tenant: &Guid, user: &User, version: u64) -> Result<Item, Error> {
    let stored = UserItem::from(user);
    let mut item = to_item(
        keys::tenant_pk(tenant),
        keys::user_sk(&user.o365_id),
        &stored,
    )?;
    item.insert("version".into(), n(version));
    Ok(item)
}

/// The condition that an item is still at the version it was read at.
pub fn version_is(version: u64) -> (&'static str, Expr) {
    ("version = :v", Expr::new().value(":v", n(version)))
}

impl Table {
    pub async fn tenant(&self, tenant: &Guid) -> Result<Option<Tenant>, Error> {
        self.get(key(keys::tenant_pk(tenant), keys::TENANT_SK))
            .await?
            .map(from_item)
            .transpose()
    }

    pub async fn organization_unit(
        &self,
        tenant: &Guid,
        ou: &Guid,
    ) -> Result<Option<OrganizationUnit>, Error> {
        self.get(key(keys::tenant_pk(tenant), keys::ou_sk(ou)))
            .await?
            .map(from_item)
            .transpose()
    }

    pub async fn user(&self, tenant: &Guid, user: &Guid) -> Result<Option<VersionedUser>, Error> {
        self.get(key(keys::tenant_pk(tenant), keys::user_sk(user)))
            .await?
            .map(VersionedUser::from_item)
            .transpose()
    }

    /// Stores a user as Teams directory sync creates it (no seats: the Team's licences are
    /// managed by the sync). Tests plant such users with it; the services feature creates
    /// them from a team's roster (`POST /api/admin/services/from-team`).
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
        self.client()
            .put_item()
            .table_name(self.name())
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_failure("put user", e, started))?;
        Ok(())
    }

    /// Audit records of a tenant, oldest first.
    pub async fn audit_records(&self, tenant: &Guid) -> Result<Vec<AuditRecord>, Error> {
        self.query_prefix(keys::audit_pk(tenant), "")
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }
}
