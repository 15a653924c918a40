//! The settings feature's storage seam: the tenant's one settings item, written with an
//! optimistic version check, the tenant's existence and its audit record in one transaction.

use stratus_kernel::audit::AuditRecord;
use stratus_kernel::settings::{settings_item, settings_key, TenantSettings, VersionedSettings};
use stratus_kernel::table::{key, keys, not_exists, sort_key, version_is, Change, Meaning, Table};
use stratus_kernel::{Error, Guid};

use crate::SettingsError;

// Implemented and called on the concrete `Table` only, so the futures' `Send` is known
// where they are awaited.
#[allow(async_fn_in_trait)]
pub trait SettingsStore {
    /// The tenant's settings with their version (defaults at version 0 when never changed);
    /// `None` when there is no such tenant. One round trip for both questions.
    async fn settings_of_tenant(&self, tenant: &Guid) -> Result<Option<VersionedSettings>, Error>;

    /// Stores `after` if the settings are still as `read`; a concurrent change in between is
    /// `ConcurrentChange`, which the caller answers by reading again.
    async fn save_settings(
        &self,
        tenant: &Guid,
        read: &VersionedSettings,
        after: &TenantSettings,
        audit: &AuditRecord,
    ) -> Result<(), SettingsError>;
}

impl SettingsStore for Table {
    async fn settings_of_tenant(&self, tenant: &Guid) -> Result<Option<VersionedSettings>, Error> {
        let items = self
            .batch_get(vec![
                key(keys::tenant_pk(tenant), keys::TENANT_SK),
                settings_key(tenant),
            ])
            .await?;
        let mut tenant_found = false;
        let mut settings = VersionedSettings::default();
        for item in items {
            match sort_key(&item) {
                keys::TENANT_SK => tenant_found = true,
                _ => settings = VersionedSettings::from_item(item)?,
            }
        }
        Ok(tenant_found.then_some(settings))
    }

    async fn save_settings(
        &self,
        tenant: &Guid,
        read: &VersionedSettings,
        after: &TenantSettings,
        audit: &AuditRecord,
    ) -> Result<(), SettingsError> {
        let condition = match read.version {
            0 => not_exists(),
            version => version_is(version),
        };
        let mut change = Change::on(self);
        change.put(
            settings_item(tenant, after, read.version + 1)?,
            Some(condition),
            Meaning::Fails(Error::ConcurrentChange.into()),
        )?;
        change.require_tenant(tenant)?;
        change.audit(audit)?;
        self.commit(change).await
    }
}
