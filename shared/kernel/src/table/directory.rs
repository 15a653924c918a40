//! The items every feature reads: the tenant's configuration record, its organization
//! units, its users (with the optimistic version a user item carries), and the audit trail.

use std::time::Instant;

use super::change::{n, Expr};
use super::{from_item, key, keys, sdk_failure, to_item, version_of, Item, Table};
use crate::audit::AuditRecord;
use crate::license::LicenseType;
use crate::user::User;
use crate::{Error, Guid, OrganizationUnit, Tenant};

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
        Ok(VersionedUser {
            user: from_item(item)?,
            version,
        })
    }
}

/// A user's item at `version`.
pub fn user_item(tenant: &Guid, user: &User, version: u64) -> Result<Item, Error> {
    let mut item = to_item(keys::tenant_pk(tenant), keys::user_sk(&user.o365_id), user)?;
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
