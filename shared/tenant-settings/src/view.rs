//! The settings as the API answers them: secrets masked, and the fields of a feature that is
//! switched off left out (the seed: "If Interact is disabled, all corresponding fields are
//! hidden"; their values are kept). Also what an audit record says changed.
//!
//! Masking: an ACS connection string keeps its endpoint (an address, not a credential) and
//! shows of its access key only the last 4 characters (`accesskey=…Zw==`), enough to tell
//! two keys apart; the widget key shows its first and last 4 characters (`3f2a…9c1d`).

use serde::Serialize;
use serde_json::{Map, Value};
use stratus_kernel::settings::{
    InteractAuthorization, MinimumProvisioningRole, TeamVisibility, TenantSettings,
};
use stratus_kernel::Guid;

use crate::patch::AcsConnectionString;

/// What a stored string that is not a connection string (written by other means) shows.
const OPAQUE_MASK: &str = "…";

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub outbound: OutboundView,
    pub interact: InteractView,
    pub assistant: AssistantView,
    pub attendant_console: AttendantConsoleView,
    pub presence_tracking: PresenceTrackingView,
    pub service_provisioning: ServiceProvisioningView,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundView {
    pub max_scheduled_tasks_per_service: u32,
    pub directly_invite_pstn: bool,
    pub directly_invite_upn: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractView {
    pub enabled: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<InteractDetails>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractDetails {
    pub acs_connection_string: Option<String>,
    pub o365_user_id: Option<Guid>,
    pub widget_key: Option<String>,
    pub session_recovery_timeout_seconds: u32,
    pub authorization: InteractAuthorization,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssistantView {
    pub own_acs_instance: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acs_connection_string: Option<Option<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttendantConsoleView {
    pub graph_filter: Option<String>,
    pub team_visibility: TeamVisibility,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceTrackingView {
    pub enabled: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<PresenceTrackingDetails>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceTrackingDetails {
    pub presence_account1: Option<String>,
    pub presence_account2: Option<String>,
    pub permissions_granted: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceProvisioningView {
    pub minimum_role: MinimumProvisioningRole,
}

/// The answer of `POST …/interact/widget-key`: the only time the key is shown in full.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WidgetKey {
    pub widget_key: Guid,
}

impl SettingsView {
    /// What callers read: secrets masked, a disabled feature's fields left out.
    pub fn answer(settings: &TenantSettings) -> SettingsView {
        Self::of(settings, false)
    }

    /// Every field, secrets masked: what an audit record compares.
    fn unhidden(settings: &TenantSettings) -> SettingsView {
        Self::of(settings, true)
    }

    fn of(s: &TenantSettings, show_disabled: bool) -> SettingsView {
        let interact = &s.interact;
        let assistant = &s.assistant;
        let presence = &s.presence_tracking;
        SettingsView {
            outbound: OutboundView {
                max_scheduled_tasks_per_service: s.outbound.max_scheduled_tasks_per_service,
                directly_invite_pstn: s.outbound.directly_invite_pstn,
                directly_invite_upn: s.outbound.directly_invite_upn,
            },
            interact: InteractView {
                enabled: interact.enabled,
                details: (interact.enabled || show_disabled).then(|| InteractDetails {
                    acs_connection_string: interact
                        .acs_connection_string
                        .as_deref()
                        .map(mask_connection_string),
                    o365_user_id: interact.o365_user_id.clone(),
                    widget_key: interact.widget_key.as_ref().map(mask_key),
                    session_recovery_timeout_seconds: interact.session_recovery_timeout_seconds,
                    authorization: interact.authorization,
                }),
            },
            assistant: AssistantView {
                own_acs_instance: assistant.own_acs_instance,
                acs_connection_string: (assistant.own_acs_instance || show_disabled).then(|| {
                    assistant
                        .acs_connection_string
                        .as_deref()
                        .map(mask_connection_string)
                }),
            },
            attendant_console: AttendantConsoleView {
                graph_filter: s.attendant_console.graph_filter.clone(),
                team_visibility: s.attendant_console.team_visibility,
            },
            presence_tracking: PresenceTrackingView {
                enabled: presence.enabled,
                details: (presence.enabled || show_disabled).then(|| PresenceTrackingDetails {
                    presence_account1: presence.presence_account1.clone(),
                    presence_account2: presence.presence_account2.clone(),
                    permissions_granted: presence.permissions_granted,
                }),
            },
            service_provisioning: ServiceProvisioningView {
                minimum_role: s.service_provisioning.minimum_role,
            },
        }
    }
}

/// An ACS connection string with its access key reduced to its last 4 characters.
pub fn mask_connection_string(text: &str) -> String {
    match AcsConnectionString::parse(text) {
        Some(parsed) => {
            let key = parsed.access_key;
            let tail = &key[key.len().saturating_sub(4)..];
            format!("endpoint={};accesskey=…{tail}", parsed.endpoint)
        }
        None => OPAQUE_MASK.to_owned(),
    }
}

/// A widget key's first and last 4 characters.
pub fn mask_key(key: &Guid) -> String {
    let text = key.as_str();
    format!("{}…{}", &text[..4], &text[text.len() - 4..])
}

/// What changed from `before` to `after`, as `{"section.field": {"from", "to"}}` in the
/// answer's terms (secrets masked, disabled features' fields included): an audit record's
/// detail, which never holds a secret.
pub fn changes(before: &TenantSettings, after: &TenantSettings) -> Value {
    let flat = |settings: &TenantSettings| {
        let mut fields = Map::new();
        if let Ok(Value::Object(sections)) = serde_json::to_value(SettingsView::unhidden(settings))
        {
            for (section, value) in sections {
                if let Value::Object(values) = value {
                    for (field, value) in values {
                        fields.insert(format!("{section}.{field}"), value);
                    }
                }
            }
        }
        fields
    };
    let (old, new) = (flat(before), flat(after));
    let mut changed = Map::new();
    for (field, to) in &new {
        let from = old.get(field).cloned().unwrap_or(Value::Null);
        if from != *to {
            changed.insert(field.clone(), serde_json::json!({ "from": from, "to": to }));
        }
    }
    Value::Object(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ACS: &str =
        "endpoint=https://contoso.communication.azure.com/;accesskey=c2VjcmV0LWtleS0xMjM0NQ==";

    #[test]
    fn defaults_answer_with_disabled_features_folded() {
        let answer =
            serde_json::to_value(SettingsView::answer(&TenantSettings::default())).unwrap();
        assert_eq!(
            answer,
            json!({
                "outbound": {"maxScheduledTasksPerService": 20, "directlyInvitePstn": false,
                             "directlyInviteUpn": false},
                "interact": {"enabled": false},
                "assistant": {"ownAcsInstance": false},
                "attendantConsole": {"graphFilter": null, "teamVisibility": "AllMembers"},
                "presenceTracking": {"enabled": false},
                "serviceProvisioning": {"minimumRole": "TeamOwner"}
            })
        );
    }

    #[test]
    fn enabled_features_show_their_fields_with_secrets_masked() {
        let mut s = TenantSettings::default();
        let key = Guid::parse("3f2a0000-1111-4222-8333-444444449c1d").unwrap();
        s.interact.enabled = true;
        s.interact.acs_connection_string = Some(ACS.into());
        s.interact.widget_key = Some(key);
        s.assistant.own_acs_instance = true;
        s.assistant.acs_connection_string = Some(ACS.into());
        s.presence_tracking.enabled = true;
        let answer = serde_json::to_value(SettingsView::answer(&s)).unwrap();
        let masked = "endpoint=https://contoso.communication.azure.com/;accesskey=…NQ==";
        assert_eq!(
            answer["interact"],
            json!({"enabled": true, "acsConnectionString": masked, "o365UserId": null,
                   "widgetKey": "3f2a…9c1d", "sessionRecoveryTimeoutSeconds": 20,
                   "authorization": "None"})
        );
        assert_eq!(
            answer["assistant"],
            json!({"ownAcsInstance": true, "acsConnectionString": masked})
        );
        assert_eq!(
            answer["presenceTracking"],
            json!({"enabled": true, "presenceAccount1": null, "presenceAccount2": null,
                   "permissionsGranted": false})
        );
        assert!(!answer.to_string().contains("c2VjcmV0"), "{answer}");
        assert_eq!(mask_connection_string("not a connection string"), "…");
    }

    #[test]
    fn changes_name_each_field_and_never_a_secret() {
        let before = TenantSettings::default();
        let mut after = before.clone();
        after.outbound.max_scheduled_tasks_per_service = 30;
        after.assistant.acs_connection_string = Some(ACS.into());
        let detail = changes(&before, &after);
        assert_eq!(
            detail,
            json!({
                "outbound.maxScheduledTasksPerService": {"from": 20, "to": 30},
                "assistant.acsConnectionString": {
                    "from": null,
                    "to": "endpoint=https://contoso.communication.azure.com/;accesskey=…NQ=="
                }
            })
        );
        assert_eq!(changes(&after, &after), json!({}));
    }
}
