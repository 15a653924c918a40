//! Tenant extension settings (`/api/admin/tenant-settings`, SPEC §6): read them, change them
//! by section, and refresh Interact's widget key. The stored record and its defaults are the
//! kernel's ([`stratus_kernel::settings`]), since other features obey it; this crate owns
//! the rules of changing it ([`patch`]), the answer's shape with secrets masked and disabled
//! features folded ([`view`]), and writing it with its audit record ([`store`]).
//!
//! Who: a tenant admin acts on the token's tenant; an operator names the tenant with
//! `?tenantId=` (the routes are fixed without a tenant in the path) and alone may switch the
//! outbound "directly invite" toggles.

mod error;
pub mod patch;
pub mod store;
pub mod view;

use serde_json::json;
use stratus_kernel::access::TenantCaller;
use stratus_kernel::audit::audit_record;
use stratus_kernel::settings::VersionedSettings;
use stratus_kernel::table::Table;
use stratus_kernel::{retry_on_race, Error, Guid, Incoming, Kernel};

pub use error::SettingsError;
pub use patch::SettingsPatch;
use store::SettingsStore;
pub use view::{SettingsView, WidgetKey};

type Result<T> = std::result::Result<T, SettingsError>;

/// The caller and the tenant it acts on.
async fn caller(kernel: &Kernel, incoming: &Incoming) -> Result<TenantCaller> {
    let named = incoming
        .query_param("tenantId")
        .map(|text| Guid::parse(text).ok_or_else(|| Error::field("tenantId", "must be a GUID")))
        .transpose()?;
    Ok(kernel
        .operator_or_tenant_admin(incoming, named.as_ref())
        .await?)
}

/// The settings as stored now; an unknown tenant is 404 to an operator who named it and
/// 401 to a token that claims it (as everywhere for tenant admins).
async fn current(table: &Table, caller: &TenantCaller) -> Result<VersionedSettings> {
    table
        .settings_of_tenant(&caller.tenant_id)
        .await?
        .ok_or(match caller.operator {
            true => SettingsError::TenantNotFound,
            false => Error::InvalidTenantId.into(),
        })
}

/// `GET /api/admin/tenant-settings`.
pub async fn get_tenant_settings(kernel: &Kernel, incoming: Incoming) -> Result<SettingsView> {
    let caller = caller(kernel, &incoming).await?;
    let read = current(kernel.table(), &caller).await?;
    Ok(SettingsView::answer(&read.settings))
}

/// `PATCH /api/admin/tenant-settings`: any fields of any sections; answers all settings.
pub async fn patch_tenant_settings(kernel: &Kernel, incoming: Incoming) -> Result<SettingsView> {
    let caller = caller(kernel, &incoming).await?;
    let patch = SettingsPatch::parse(&incoming.body_fields()?)?;
    let table = kernel.table();
    retry_on_race(|| async {
        let read = current(table, &caller).await?;
        let after = patch.apply(&read.settings, caller.operator)?;
        let changed = view::changes(&read.settings, &after);
        // Nothing to write or audit when every value named is the current one.
        if changed.as_object().is_some_and(|c| !c.is_empty()) {
            let audit = audit_record(
                &caller.tenant_id,
                &caller.actor,
                "tenant.settings.update",
                format!("tenant:{}/settings", caller.tenant_id),
                changed,
            );
            table
                .save_settings(&caller.tenant_id, &read, &after, &audit)
                .await?;
        }
        Ok(SettingsView::answer(&after))
    })
    .await
}

/// `POST /api/admin/tenant-settings/interact/widget-key`: a new random key replaces the old
/// one (the first call generates it). Answered in full here only; reads show it masked.
pub async fn refresh_widget_key(kernel: &Kernel, incoming: Incoming) -> Result<WidgetKey> {
    let caller = caller(kernel, &incoming).await?;
    let table = kernel.table();
    retry_on_race(|| async {
        let read = current(table, &caller).await?;
        let key = Guid::new_random();
        let mut after = read.settings.clone();
        after.interact.widget_key = Some(key.clone());
        let audit = audit_record(
            &caller.tenant_id,
            &caller.actor,
            "tenant.settings.widgetKey.refresh",
            format!("tenant:{}/settings", caller.tenant_id),
            json!({ "interact.widgetKey": {
                "from": read.settings.interact.widget_key.as_ref().map(view::mask_key),
                "to": view::mask_key(&key),
            }}),
        );
        table
            .save_settings(&caller.tenant_id, &read, &after, &audit)
            .await?;
        Ok(WidgetKey { widget_key: key })
    })
    .await
}
