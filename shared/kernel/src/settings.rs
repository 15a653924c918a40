//! A tenant's extension settings (SPEC §6, the seed's "Extensions Tenant Settings"): outbound
//! limits, Interact, Assistant, Attendant Console, presence tracking and who may provision
//! Teams-based services. Kept in the kernel because other features obey them (the outbound
//! limit, presence tracking, the provisioning role) without depending on the settings
//! feature, which owns changing them.
//!
//! Stored as one item per tenant (`TENANT#<tid>` / `SETTINGS`) with a `version` for
//! optimistic writes. A tenant that never changed a setting has no item and reads the
//! defaults; an item written before a field existed reads that field's default, so adding
//! a setting needs no migration. Secrets (connection strings, the widget key) are stored in
//! full; answers mask them (the settings feature decides how).

use serde::{Deserialize, Serialize};

use crate::table::{from_item, key, keys, to_item, version_of, Item, Table};
use crate::{Error, Guid};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TenantSettings {
    pub outbound: Outbound,
    pub interact: Interact,
    pub assistant: Assistant,
    pub attendant_console: AttendantConsole,
    pub presence_tracking: PresenceTracking,
    pub service_provisioning: ServiceProvisioning,
}

/// Scheduled outbound tasks (the seed: "Default 20 / Min 1 / Max 50").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Outbound {
    /// Outbound tasks a service may have scheduled or in progress at once.
    pub max_scheduled_tasks_per_service: u32,
    /// Operators only: the seed's toggles are read-only for tenants ("done by Luware
    /// Support and requires testing on your tenant").
    pub directly_invite_pstn: bool,
    pub directly_invite_upn: bool,
}

impl Outbound {
    pub const DEFAULT_MAX_SCHEDULED_TASKS: u32 = 20;
    pub const MAX_SCHEDULED_TASKS_RANGE: (u32, u32) = (1, 50);
}

impl Default for Outbound {
    fn default() -> Self {
        Outbound {
            max_scheduled_tasks_per_service: Self::DEFAULT_MAX_SCHEDULED_TASKS,
            directly_invite_pstn: false,
            directly_invite_upn: false,
        }
    }
}

/// Interact (web chat and calls into Teams).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Interact {
    pub enabled: bool,
    /// Azure Communication Services; required while enabled. A secret.
    pub acs_connection_string: Option<String>,
    /// The user on whose behalf meetings are created.
    pub o365_user_id: Option<Guid>,
    /// The key web widgets send with each request; a secret. None until first generated.
    pub widget_key: Option<Guid>,
    /// Seconds before a closed session ends for good (the seed: default 20, 5 to 60).
    pub session_recovery_timeout_seconds: u32,
    pub authorization: InteractAuthorization,
}

impl Interact {
    pub const DEFAULT_SESSION_RECOVERY_TIMEOUT_SECONDS: u32 = 20;
    pub const SESSION_RECOVERY_TIMEOUT_RANGE: (u32, u32) = (5, 60);
}

impl Default for Interact {
    fn default() -> Self {
        Interact {
            enabled: false,
            acs_connection_string: None,
            o365_user_id: None,
            widget_key: None,
            session_recovery_timeout_seconds: Self::DEFAULT_SESSION_RECOVERY_TIMEOUT_SECONDS,
            authorization: InteractAuthorization::None,
        }
    }
}

/// What an Interact session's token must prove (the seed's three choices).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum InteractAuthorization {
    /// The token is not verified.
    #[default]
    None,
    /// The token must be valid.
    VerifyToken,
    /// The token must be valid and belong to the tenant.
    VerifyTokenAndTenant,
}

/// Assistant, on Stratus's ACS instance or the tenant's own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Assistant {
    pub own_acs_instance: bool,
    /// Required while `own_acs_instance`. A secret.
    pub acs_connection_string: Option<String>,
}

/// What Attendant Console searches show.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AttendantConsole {
    /// The `$filter` part of a Graph users query; empty searches the whole tenant.
    pub graph_filter: Option<String>,
    pub team_visibility: TeamVisibility,
}

/// Whose team members a console search shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TeamVisibility {
    /// Services only, no members.
    None,
    /// Members of the services the console's user belongs to.
    OwnMembers,
    /// Members of every service. The default: the seed describes hiding members as the
    /// opt-in ("the visibility of team members can be hidden").
    #[default]
    AllMembers,
}

/// Extended presence through two guest accounts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PresenceTracking {
    pub enabled: bool,
    pub presence_account1: Option<String>,
    /// The fallback when account 1 does not work.
    pub presence_account2: Option<String>,
    /// The tenant admin granted the delegated permissions the accounts need.
    pub permissions_granted: bool,
}

/// Who may provision a Teams-based service from a team.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceProvisioning {
    pub minimum_role: MinimumProvisioningRole,
}

/// The least role that may provision; `Disabled` stops provisioning of new services.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MinimumProvisioningRole {
    /// The default: the provisioning seed says its steps "can be done performed either by a
    /// TENANT ADMIN or TEAM OWNER" unless an administrator changes the minimum role.
    #[default]
    TeamOwner,
    TenantAdmin,
    Disabled,
}

/// Settings together with the version their item had when read (0: no item yet).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VersionedSettings {
    pub settings: TenantSettings,
    pub version: u64,
}

impl VersionedSettings {
    /// A settings item as read.
    pub fn from_item(item: Item) -> Result<VersionedSettings, Error> {
        let version = version_of(&item);
        Ok(VersionedSettings {
            settings: from_item(item)?,
            version,
        })
    }
}

/// The settings item of a tenant at `version`.
pub fn settings_item(
    tenant: &Guid,
    settings: &TenantSettings,
    version: u64,
) -> Result<Item, Error> {
    let mut item = to_item(keys::tenant_pk(tenant), keys::SETTINGS_SK, settings)?;
    item.insert("version".into(), crate::table::n(version));
    Ok(item)
}

/// The key of a tenant's settings item.
pub fn settings_key(tenant: &Guid) -> Item {
    key(keys::tenant_pk(tenant), keys::SETTINGS_SK)
}

impl Table {
    /// A tenant's settings; the defaults when it has never changed one. (Whether the tenant
    /// exists is not asked: a feature reading settings has met the tenant already.)
    pub async fn tenant_settings(&self, tenant: &Guid) -> Result<TenantSettings, Error> {
        Ok(self
            .get(settings_key(tenant))
            .await?
            .map(VersionedSettings::from_item)
            .transpose()?
            .unwrap_or_default()
            .settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_the_seeds() {
        let s = TenantSettings::default();
        assert_eq!(s.outbound.max_scheduled_tasks_per_service, 20);
        assert!(!s.outbound.directly_invite_pstn && !s.outbound.directly_invite_upn);
        assert!(!s.interact.enabled);
        assert_eq!(s.interact.session_recovery_timeout_seconds, 20);
        assert_eq!(s.interact.authorization, InteractAuthorization::None);
        assert!(!s.assistant.own_acs_instance);
        assert_eq!(
            s.attendant_console.team_visibility,
            TeamVisibility::AllMembers
        );
        assert!(!s.presence_tracking.enabled);
        assert_eq!(
            s.service_provisioning.minimum_role,
            MinimumProvisioningRole::TeamOwner
        );
    }

    #[test]
    fn fields_an_older_item_lacks_read_as_their_defaults() {
        let stored = json!({
            "outbound": { "maxScheduledTasksPerService": 7 },
            "interact": { "enabled": true, "acsConnectionString": "x" }
        });
        let s: TenantSettings = serde_json::from_value(stored).unwrap();
        assert_eq!(s.outbound.max_scheduled_tasks_per_service, 7);
        assert!(!s.outbound.directly_invite_pstn);
        assert!(s.interact.enabled);
        assert_eq!(s.interact.session_recovery_timeout_seconds, 20);
        assert_eq!(s.presence_tracking, PresenceTracking::default());
        assert_eq!(s.service_provisioning, ServiceProvisioning::default());
    }

    #[test]
    fn a_settings_item_round_trips_with_its_version() {
        let tenant = Guid::new_random();
        let mut settings = TenantSettings::default();
        settings.interact.widget_key = Some(Guid::new_random());
        settings.service_provisioning.minimum_role = MinimumProvisioningRole::Disabled;
        let item = settings_item(&tenant, &settings, 3).unwrap();
        let read = VersionedSettings::from_item(item).unwrap();
        assert_eq!(read.version, 3);
        assert_eq!(read.settings, settings);
    }
}
